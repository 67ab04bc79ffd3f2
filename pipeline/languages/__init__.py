"""The language registry: one folder per language, each with a `Language` instance.

Adding a language is adding its folder (see README "Adding a language") and a line in
`LANGUAGES`. Everything the core needs about languages and frameworks is asked here.
"""

from __future__ import annotations

from pipeline.languages import csharp, go, java, javascript, php, python, ruby, rust
from pipeline.languages.base import Grammar, Language
from pipeline.languages.framework import Framework

#: Every language, in the order explore tries their frameworks.
LANGUAGES: list[Language] = [
    python.LANGUAGE,
    javascript.LANGUAGE,
    go.LANGUAGE,
    java.LANGUAGE,
    csharp.LANGUAGE,
    ruby.LANGUAGE,
    php.LANGUAGE,
    rust.LANGUAGE,
]

#: Every framework, language by language; within a language the more specific first
#: (NestJS before Express, the Go routers before plain net/http).
FRAMEWORKS: list[Framework] = [f for language in LANGUAGES for f in language.frameworks]

_BY_NAME: dict[str, Language] = {n: lang for lang in LANGUAGES for n in (lang.name, *lang.aliases)}


def get_language(name: str) -> Language:
    """The language a Service.language names; KeyError for one without a folder."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown language {name!r}; known languages: {', '.join(_BY_NAME)}") from None


def has_language(name: str) -> bool:
    return name in _BY_NAME


def get_framework(name: str) -> Framework:
    for framework in FRAMEWORKS:
        if framework.name == name:
            return framework
    known = ", ".join(f.name for f in FRAMEWORKS)
    raise KeyError(f"unknown framework {name!r}; known frameworks: {known}")


def grammar(name: str) -> Grammar:
    for language in LANGUAGES:
        if name in language.grammars:
            return language.grammars[name]
    raise KeyError(f"no tree-sitter grammar registered for language {name!r}")


def grammar_for_suffix(suffix: str) -> str | None:
    """The grammar of a source file by its suffix (".ts" -> "typescript"), None if no language has it."""
    for language in LANGUAGES:
        if suffix in language.suffixes:
            return language.suffixes[suffix]
    return None


def delegate_queries(grammar_name: str) -> tuple[str, str]:
    for language in LANGUAGES:
        if grammar_name in language.delegate_queries:
            return language.delegate_queries[grammar_name]
    raise KeyError(f"no delegate queries for grammar {grammar_name!r}")


__all__ = [
    "FRAMEWORKS",
    "LANGUAGES",
    "Framework",
    "Language",
    "delegate_queries",
    "get_framework",
    "get_language",
    "grammar",
    "grammar_for_suffix",
    "has_language",
]
