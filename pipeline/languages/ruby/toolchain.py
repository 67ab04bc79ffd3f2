"""Ruby: Bundler with Gemfile / Gemfile.lock, the Ruby version from .ruby-version or the Gemfile.

A script without a Gemfile gets the gems it requires from Debian's ruby-* packages, and so
does, offline, a Gemfile whose every gem Debian ships (`bundle install --local` resolves it
against them): that is what builds where RubyGems is unreachable, and it only works on the
Debian-based stand-in image (the official image's Ruby in /usr/local does not see Debian's
gems).
"""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.languages.toolchain import Toolchain, existing, major_minor, pick_version, read_text, source_files

STAND_IN = "3.1"
OFFICIAL = ["3.1", "3.2", "3.3", "3.4"]
# Gems with native extensions and the Debian packages their build needs.
NATIVE_GEMS = {
    "pg": ["libpq-dev"],
    "mysql2": ["default-libmysqlclient-dev"],
    "sqlite3": ["libsqlite3-dev"],
    "nokogiri": ["libxml2-dev", "libxslt1-dev"],
    "bcrypt": [],
    "puma": [],
    "nio4r": [],
    "websocket-driver": [],
    "bootsnap": [],
    "msgpack": [],
    "ffi": ["libffi-dev"],
    "json": [],
    "racc": [],
}
# `require` names and the Debian package that ships them (for scripts without a Gemfile).
DEBIAN_GEMS = {
    "sinatra": "ruby-sinatra",
    "sinatra/base": "ruby-sinatra",
    "sinatra/json": "ruby-sinatra-contrib",
    "webrick": "ruby-webrick",
    "rack": "ruby-rack",
    "puma": "puma",
    "thin": "thin",
    "sqlite3": "ruby-sqlite3",
    "sequel": "ruby-sequel",
    "mustermann": "ruby-mustermann",
}
# Gem names (as a Gemfile says them) and the Debian package that ships each; "" for the
# default gems Debian's Ruby carries itself. Offline, a Gemfile made only of these is
# installed from Debian and resolved by `bundle install --local` against those gems.
DEBIAN_GEM_PACKAGES = {
    "sinatra": "ruby-sinatra",
    "sinatra-contrib": "ruby-sinatra-contrib",
    "rack": "ruby-rack",
    "rackup": "ruby-rack",  # Rack 2 (Debian's) still ships the rackup command itself
    "rack-protection": "ruby-rack-protection",
    "mustermann": "ruby-mustermann",
    "tilt": "ruby-tilt",
    "webrick": "ruby-webrick",
    "puma": "puma",
    "thin": "thin",
    "sqlite3": "ruby-sqlite3",
    "sequel": "ruby-sequel",
    "json": "",
    "bigdecimal": "",
    "date": "",
    "logger": "",
}


# Production mode, as a deployment runs it; it refuses to boot without a secret key base.
def image(version: str) -> str:
    return f"ruby:{version}-slim-bookworm"


def _constraint(root: Path, gemfile: str) -> tuple[str | None, str | None]:
    text = read_text(root / ".ruby-version").strip()
    if text and major_minor(text.removeprefix("ruby-")):
        return f"={major_minor(text.removeprefix('ruby-'))}", ".ruby-version"
    match = re.search(r"^\s*ruby\s+['\"]([^'\"]+)['\"]", gemfile, re.MULTILINE)
    if match:
        value = match.group(1)
        return (value if re.match(r"[~<>=]", value) else f"={major_minor(value)}"), "Gemfile ruby"
    return None, None


def _locked_gems(lock: str) -> set[str]:
    return set(re.findall(r"^    ([a-z0-9_\-]+) \(", lock, re.MULTILINE))


def _required(root: Path) -> list[str]:
    names: set[str] = set()
    for path in source_files(root, ".rb", limit=300):
        names.update(re.findall(r"^\s*require\s+['\"]([\w/\-]+)['\"]", read_text(path), re.MULTILINE))
    return sorted(names)


def detect(root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
    gemfile = read_text(root / "Gemfile")
    lock = read_text(root / "Gemfile.lock")
    constraint, source = _constraint(root, gemfile)
    notes: list[str] = []
    version = pick_version(constraint, OFFICIAL, STAND_IN)
    if version is None:
        notes.append(f"{source} asks for Ruby {constraint}, which no ruby:*-slim-bookworm image meets")
        version = STAND_IN
    if offline and version != STAND_IN:
        notes.append(f"{source} asks for Ruby {constraint}; offline, the stand-in ruby {STAND_IN} is used")
        version = STAND_IN

    system_packages: list[str] = []
    facts: dict[str, str] = {}
    if gemfile:
        declared = set(re.findall(r"^\s*gem\s+['\"]([\w\-]+)['\"]", gemfile, re.MULTILINE))
        gems = _locked_gems(lock) or declared
        from_debian = offline and bool(declared) and declared <= DEBIAN_GEM_PACKAGES.keys()
        native = sorted(g for g in gems if g in NATIVE_GEMS)
        if from_debian:
            # No RubyGems here: Debian's packaged gems, and Bundler resolves against them only.
            system_packages += sorted({DEBIAN_GEM_PACKAGES[g] for g in declared} - {""})
            install = "bundle install --local"
            facts["debian_gems"] = "yes"
            notes.append("offline: the Gemfile's gems come from Debian's ruby-* packages (`bundle install --local`)")
        else:
            if native:
                system_packages += ["build-essential"] + sorted({p for g in native for p in NATIVE_GEMS[g]})
            if re.search(r"\bgit(hub)?:", gemfile):
                system_packages.append("git")
            frozen = "bundle config set --local frozen true && " if lock else ""
            install = f"{frozen}bundle config set --local without 'development test' && bundle install --jobs 4"
        manifests = existing(root, ["Gemfile", "Gemfile.lock", ".ruby-version"])
        if re.search(r"^\s*gemspec\b", gemfile, re.MULTILINE):
            manifests += [p.name for p in sorted(root.glob("*.gemspec"))]
        manager = "bundler"
        start = ["bundle", "exec", "ruby", entrypoint or "app.rb"]
    else:
        required = _required(root)
        packages = sorted({DEBIAN_GEMS[name] for name in required if name in DEBIAN_GEMS})
        # Sinatra needs a Rack server, and Ruby 3 no longer ships WEBrick.
        if "ruby-sinatra" in packages and not {"puma", "thin"} & set(packages):
            packages.append("ruby-webrick")
        system_packages += sorted(set(packages))
        install, manifests, manager = None, [], "none"
        start = ["ruby", entrypoint or "app.rb"]
        if packages:
            facts["debian_gems"] = "yes"
            notes.append("no Gemfile: required gems come from Debian's ruby-* packages (Debian-based image only)")
    return Toolchain(
        language="ruby",
        language_version=version,
        version_source=source,
        package_manager=manager,
        manifests=manifests,
        install_command=install,
        build_command=None,
        start_command=start,
        default_port=4567,  # Sinatra's; frameworks give their own port through their hints
        system_packages=system_packages,
        base_image=image(version),
        facts=facts,
        notes=notes,
    )
