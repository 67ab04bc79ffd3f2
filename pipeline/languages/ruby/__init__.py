"""Ruby: Rails and Sinatra services."""

from pipeline.languages.base import Grammar, Language
from pipeline.languages.ruby import toolchain
from pipeline.languages.ruby.rails import RailsFramework
from pipeline.languages.ruby.sinatra import SinatraFramework
from pipeline.languages.toolchain import Toolchain


class RubyLanguage(Language):
    def extra_install_for(self, tc: Toolchain, packages: list[str]) -> tuple[str | None, list[str]]:
        if not packages or tc.facts.get("debian_gems") != "yes":
            return super().extra_install_for(tc, packages)
        # No RubyGems: Debian's packaged gems (see toolchain.py).
        known = {**toolchain.DEBIAN_GEMS, **toolchain.DEBIAN_GEM_PACKAGES}
        debian = [known[p] for p in packages if known.get(p)]
        command, _ = super().extra_install_for(tc, [p for p in packages if p not in known])
        return command, debian


LANGUAGE = RubyLanguage(
    name="ruby",
    build_cost=2,
    aliases=(),
    frameworks=(RailsFramework(), SinatraFramework()),
    toolchain=toolchain,
    grammars={"ruby": Grammar("tree_sitter_ruby")},
    suffixes={".rb": "ruby"},
    delegate_queries={
        "ruby": (
            """
            (method name: (identifier) @name) @def
            (singleton_method name: (identifier) @name) @def
            """,
            "(call method: (identifier) @name)",
        ),
    },
    manifest_files=("Gemfile",),
    server_dependencies={
        "pg": "postgresql",
        "mysql2": "mysql",
        "redis": "redis",
        "mongoid": "mongodb",
    },
    dockerignore=(".bundle", "vendor/bundle", "log", "tmp"),
    extra_install="gem install --no-document {}",
    unfreeze=((r"bundle config set --local frozen true && ", ""),),
)
