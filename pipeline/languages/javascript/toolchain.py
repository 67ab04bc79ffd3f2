"""JavaScript and TypeScript: npm, yarn (classic and berry) or pnpm; engines.node; build scripts."""

from __future__ import annotations

import re
from pathlib import Path

from pipeline.languages.toolchain import (
    Toolchain,
    existing,
    major_minor,
    offline_version,
    pick_version,
    read_json,
    read_text,
)

STAND_IN = "18"
# The versions local stand-ins exist for (docker/base: node.Dockerfile on bookworm,
# node-trixie.Dockerfile: Debian trixie's Node 20.19), oldest first.
STAND_INS = ["18", "20"]
# Official node:<major>-bookworm-slim tags exist for these (and -trixie-slim from 20 on,
# the suite whose stand-in this machine can build).
OFFICIAL = ["16", "18", "20", "22", "24"]
FIRST_TRIXIE = 20
# Files the package manager reads besides package.json and the lock file.
CONFIG_FILES = [".npmrc", ".yarnrc", ".yarnrc.yml", "pnpm-workspace.yaml", ".yarn/releases/", ".yarn/plugins/"]


def image(version: str) -> str:
    major = int(version) if version.isdigit() else 0
    return f"node:{version}-{'trixie' if major >= FIRST_TRIXIE else 'bookworm'}-slim"


def _node_constraint(root: Path, manifest: dict) -> tuple[str | None, str | None]:
    for name in (".nvmrc", ".node-version"):
        text = read_text(root / name).strip()
        if text and major_minor(text):
            return f"={text.lstrip('v').split('.')[0]}", name
    engines = manifest.get("engines")
    if isinstance(engines, dict) and isinstance(engines.get("node"), str):
        return engines["node"], "package.json engines.node"
    return None, None


def _declares(manifest: dict, name: str) -> bool:
    return any(isinstance(manifest.get(k), dict) and name in manifest[k] for k in ("dependencies", "devDependencies"))


LIFECYCLE_SCRIPTS = ("preinstall", "install", "postinstall", "prepare")


def dev_tool_lifecycle_scripts(manifest: dict) -> list[str]:
    """The package's own install-time scripts that run a tool only its devDependencies
    provide (`"prepare": "husky install"`): with the devDependencies left out they fail the
    install, so a production install must skip them."""
    scripts = manifest.get("scripts") if isinstance(manifest.get("scripts"), dict) else {}
    dev = manifest.get("devDependencies") if isinstance(manifest.get("devDependencies"), dict) else {}
    runtime = manifest.get("dependencies") if isinstance(manifest.get("dependencies"), dict) else {}
    failing = []
    for name in LIFECYCLE_SCRIPTS:
        script = scripts.get(name)
        if not isinstance(script, str):
            continue
        programs = {
            words[1] if words[0] in ("npx", "yarn", "pnpm") and len(words) > 1 else words[0]
            for command in re.split(r"&&|\|\||;|\|", script)
            if (words := command.split())
        }
        if any(program in dev and program not in runtime for program in programs):
            failing.append(name)
    return failing


def _typescript(root: Path, manifest: dict) -> bool:
    return (root / "tsconfig.json").is_file() and _declares(manifest, "typescript")


def production_install(root: Path, manifest: dict) -> bool:
    """The install leaves the devDependencies out: a build (tsc, babel, nest build) needs
    them, a plain app does not."""
    scripts = manifest.get("scripts") if isinstance(manifest.get("scripts"), dict) else {}
    return not (isinstance(scripts.get("build"), str) and scripts["build"]) and not _typescript(root, manifest)


def detect(root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
    manifest = read_json(root / "package.json")
    scripts = manifest.get("scripts") if isinstance(manifest.get("scripts"), dict) else {}
    constraint, source = _node_constraint(root, manifest)
    notes: list[str] = []
    met = True
    version = pick_version(constraint, OFFICIAL, STAND_IN)
    if version is None:
        notes.append(f"{source} asks for Node {constraint}, which no node:* image meets")
        version, met = STAND_IN, False
    if offline and version not in STAND_INS:
        version, met = offline_version(constraint, STAND_INS, STAND_IN)
        notes.append(
            f"{source} asks for Node {constraint}; offline, the stand-in node {version} is used"
            + ("" if met else " (the nearest there is)")
        )

    typescript = _typescript(root, manifest)
    build_script = scripts.get("build") if isinstance(scripts.get("build"), str) else None
    if build_script:
        build = "run build"
    elif typescript:
        build = "exec tsc"
    else:
        build = None
    production = production_install(root, manifest)
    package_manager_field = str(manifest.get("packageManager") or "")

    if (root / "pnpm-lock.yaml").is_file() or package_manager_field.startswith("pnpm"):
        manager = "pnpm"
        pinned = re.match(r"pnpm@(\d+)", package_manager_field)
        lock = (root / "pnpm-lock.yaml").is_file()
        install = (
            f"npm install -g pnpm@{pinned.group(1) if pinned else 8}"
            f" && pnpm install {'--frozen-lockfile' if lock else '--no-frozen-lockfile'}"
            + (" --prod" if production else "")
        )
        run = "pnpm"
        lockfiles = ["pnpm-lock.yaml"]
    elif (root / "yarn.lock").is_file() or package_manager_field.startswith("yarn"):
        manager = "yarn"
        berry = (root / ".yarnrc.yml").is_file() or bool(re.match(r"yarn@[2-9]", package_manager_field))
        lock = (root / "yarn.lock").is_file()
        if berry:
            # Yarn 2+ is pinned by the repository (packageManager / .yarn/releases): corepack runs it.
            install = "corepack enable && yarn install" + (" --immutable" if lock else "")
            if production:
                notes.append("yarn berry installs devDependencies too (no --production flag)")
        else:
            install = "yarn install" + (" --frozen-lockfile" if lock else "") + (" --production" if production else "")
        run = "yarn"
        lockfiles = ["yarn.lock"]
    else:
        manager = "npm"
        lock = any((root / n).is_file() for n in ("package-lock.json", "npm-shrinkwrap.json"))
        install = ("npm ci" if lock else "npm install") + (" --omit=dev" if production else "")
        run = "npm"
        lockfiles = ["package-lock.json", "npm-shrinkwrap.json"]

    skipped = dev_tool_lifecycle_scripts(manifest) if production else []
    if skipped and manager in ("npm", "yarn") and "corepack" not in install:
        # --ignore-scripts skips the package's own scripts and its dependencies' too: the
        # rebuild runs the dependencies' (native modules) again, not the package's.
        install += " --ignore-scripts && npm rebuild"
        notes.append(f"skipped the package's {', '.join(skipped)} script(s): they run development tools")

    build_command = None
    if build == "run build":
        build_command = f"{run} run build"
    elif build == "exec tsc":
        build_command = "npx tsc" if manager == "npm" else f"{run} exec tsc"
    start = ["npm", "start"] if isinstance(scripts.get("start"), str) else ["node", entrypoint or "index.js"]
    return Toolchain(
        language="javascript",
        language_version=version,
        version_source=source,
        package_manager=manager,
        manifests=existing(root, ["package.json", *lockfiles, *CONFIG_FILES]),
        install_command=install,
        build_command=build_command,
        start_command=start,
        default_port=3000,
        env={"NODE_ENV": "production"},
        base_image=image(version),
        # Built on the nearest Node there is: npm's engine-strict (an .npmrc may set it) and
        # yarn would refuse the package's own engines field before trying.
        facts={"typescript": "yes" if typescript else "no", "engine_strict": "true" if met else "false"},
        notes=notes,
    )
