"""PHP: Composer (composer.json's php constraint, composer.lock), or none for plain scripts.

Offline (no Packagist), a composer.json whose every package Debian ships is served from
Debian's php-* packages instead: they install under /usr/share/php with an autoload.php
each; Composer (Debian's) writes the repository's own autoloader, and vendor/autoload.php
is made to require the Debian ones first, so the app's `require 'vendor/autoload.php'`
loads both. (auto_prepend_file would be simpler, but the built-in server skips it for a
router script.) Online the Dockerfile is the usual `composer install`.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.languages.toolchain import Toolchain, existing, pick_version, read_json

STAND_IN = "8.2"
OFFICIAL = ["8.1", "8.2", "8.3", "8.4"]
# Composer comes from its official image online; offline, from Debian's package (which
# runs on the stand-in's Debian PHP).
COMPOSER_ONLINE = "COPY --from=composer:2 /usr/bin/composer /usr/bin/composer"
COMPOSER_OFFLINE_PACKAGES = ["composer"]
# ext-* requirements and the Debian package of the stand-in that provides them.
EXTENSIONS = {
    "pdo_pgsql": "php8.2-pgsql",
    "pgsql": "php8.2-pgsql",
    "pdo_mysql": "php8.2-mysql",
    "mysqli": "php8.2-mysql",
    "intl": "php8.2-intl",
    "gd": "php8.2-gd",
    "zip": "php8.2-zip",
    "bcmath": "php8.2-bcmath",
    "redis": "php8.2-redis",
}


# Composer package -> (Debian package, its autoloader under /usr/share/php). Only packages
# whose Debian version is the one the ecosystem uses (Slim 3 is Debian's slim/slim).
DEBIAN_PACKAGES = {
    "slim/slim": ("php-slim", "Slim/autoload.php"),
    "slim/psr7": ("php-slim-psr7", "Slim/Psr7/autoload.php"),
    "nikic/fast-route": ("php-nikic-fast-route", "FastRoute/autoload.php"),
    "pimple/pimple": ("php-pimple", "Pimple/autoload.php"),
    "psr/container": ("php-psr-container", "Psr/Container/autoload.php"),
    "psr/http-message": ("php-psr-http-message", "Psr/Http/Message/autoload.php"),
}
DEBIAN_AUTOLOAD = "/usr/local/lib/php-debian-autoload.php"


def _debian_install(packages: list[str]) -> str:
    """The RUN command that writes one file requiring the Debian packages' autoloaders."""
    loaders = " ".join(DEBIAN_PACKAGES[p][1] for p in packages)
    return f"printf '<?php\\n' > {DEBIAN_AUTOLOAD} && printf \"require_once '%s';\\n\" {loaders} >> {DEBIAN_AUTOLOAD}"


def image(version: str) -> str:
    return f"php:{version}-cli-bookworm"


def detect(root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
    composer = read_json(root / "composer.json")
    require = composer.get("require") if isinstance(composer.get("require"), dict) else {}
    constraint = require.get("php") if isinstance(require.get("php"), str) else None
    notes: list[str] = []
    version = pick_version(constraint, OFFICIAL, STAND_IN)
    if version is None:
        notes.append(f"composer.json asks for PHP {constraint}, which no php:*-cli-bookworm image meets")
        version = STAND_IN
    if offline and version != STAND_IN:
        notes.append(f"composer.json asks for PHP {constraint}; offline, the stand-in php {STAND_IN} is used")
        version = STAND_IN

    public = "public" if (root / "public" / "index.php").is_file() else "."
    router = entrypoint if entrypoint and entrypoint.endswith(".php") and public == "." else None
    start = ["php", "-S", "0.0.0.0:8000", "-t", public] + ([router] if router else [])
    system_packages: list[str] = []
    facts: dict[str, str] = {}
    packages = sorted(name for name in require if name != "php" and not name.startswith("ext-"))
    if composer and offline and packages and all(p in DEBIAN_PACKAGES for p in packages):
        system_packages += ["composer", *sorted({DEBIAN_PACKAGES[p][0] for p in packages})]
        install = _debian_install(packages)
        prepend = f"sed -i \"1a require_once '{DEBIAN_AUTOLOAD}';\" vendor/autoload.php"
        build = f"composer dump-autoload --optimize --no-dev && {prepend}"
        manager = "composer"
        facts["debian_packages"] = "yes"
        notes.append("offline: composer.json's packages come from Debian's php-* packages (autoloaded first)")
    elif composer:
        system_packages += ["git", "unzip"]
        if offline:
            system_packages += COMPOSER_OFFLINE_PACKAGES
        else:
            facts["composer_copy"] = COMPOSER_ONLINE
        extensions = sorted(name.removeprefix("ext-") for name in require if name.startswith("ext-"))
        missing = [e for e in extensions if e in EXTENSIONS]
        if missing:
            if offline:
                system_packages += sorted({EXTENSIONS[e] for e in missing})
            else:
                notes.append(
                    f"PHP extensions {', '.join(missing)} may need docker-php-ext-install on the official image"
                )
        # Scripts (artisan package:discover, ...) need the source: they run at dump-autoload.
        install = "composer install --no-dev --no-interaction --prefer-dist --no-scripts --no-autoloader"
        build = "composer dump-autoload --optimize --no-dev"
        manager = "composer"
    else:
        install, build, manager = None, None, "none"
    # Laravel's SQLite migration is the framework module's: its start command runs
    # `php artisan migrate --force` when the app is configured for SQLite.
    return Toolchain(
        language="php",
        language_version=version,
        version_source="composer.json require.php" if constraint else None,
        package_manager=manager,
        manifests=existing(root, ["composer.json", "composer.lock", "auth.json"]),
        install_command=install,
        build_command=build,
        start_command=start,
        default_port=8000,
        system_packages=system_packages,
        base_image=image(version),
        facts=facts,
        notes=notes,
    )
