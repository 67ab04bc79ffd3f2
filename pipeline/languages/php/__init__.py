"""PHP: Laravel, Symfony and Slim services."""

from pipeline.languages.base import Grammar, Language
from pipeline.languages.php import toolchain
from pipeline.languages.php.laravel import LaravelFramework
from pipeline.languages.php.slim import SlimFramework
from pipeline.languages.php.symfony import SymfonyFramework

LANGUAGE = Language(
    name="php",
    build_cost=2,
    aliases=(),
    frameworks=(LaravelFramework(), SymfonyFramework(), SlimFramework()),
    toolchain=toolchain,
    # The full PHP grammar: files may mix HTML and <?php blocks.
    grammars={"php": Grammar("tree_sitter_php", "language_php")},
    suffixes={".php": "php"},
    delegate_queries={
        "php": (
            """
            (function_definition name: (name) @name) @def
            (method_declaration name: (name) @name) @def
            """,
            """
            (function_call_expression function: (name) @name)
            (member_call_expression name: (name) @name)
            (scoped_call_expression name: (name) @name)
            """,
        ),
    },
    manifest_files=("composer.json",),
    server_dependencies={
        "predis/predis": "redis",
        "mongodb/mongodb": "mongodb",
    },
    dockerignore=("vendor",),
    unfreeze=((r"composer install", "composer update"),),
)
