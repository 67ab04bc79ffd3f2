"""Base images under their official names, pulled where possible, built where not.

Generated Dockerfiles say `FROM python:3.11-slim-bookworm`, so one Dockerfile works on a
machine that can pull and on one that cannot. `ensure()` makes those names exist:

1. fast path: the image exists with label `abc-pipeline.base-recipe` equal to the hash
   of its recipe and of the extra CA bundle -> nothing to do;
2. unless offline, `docker pull`; then a thin layer adds the extra CA bundle (and the
   label, so the fast path works next time);
3. an unlabelled image of that name that is already there (e.g. `docker load`ed) gets
   the same thin layer;
4. otherwise the recipe in docker/base/<name>.Dockerfile is built on a Debian root file
   system made once by debootstrap (`abc-pipeline/debian:bookworm`). The versions in the
   official names are those Debian bookworm ships, so the stand-in behaves alike.

CLI: `python -m pipeline.runtime.base_images ensure [--all] [--offline] [NAME ...]`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import docker
import docker.errors
from pydantic import BaseModel

from pipeline.config import Settings
from pipeline.models import StageError, Verdict
from pipeline.runtime.engine import DAEMON_ERRORS, docker_client, infra_error
from pipeline.runtime.sandbox import (
    BASE_IMAGE_LABEL,
    BASE_NAME_LABEL,
    BASE_RECIPE_LABEL,
    LABEL,
    ROOTFS_IMAGE,
    build_image,
)

log = logging.getLogger(__name__)

RECIPE_DIR = Path(__file__).resolve().parents[2] / "docker" / "base"
SOURCE_LABEL = "abc-pipeline.base-source"
# The recipe's hash without any CA bundle. A process that sees no extra CA (another
# environment, a worker without SSL_CERT_FILE) accepts an image that has one, instead of
# rebuilding it without, which the next process with the CA would rebuild again.
PLAIN_RECIPE_LABEL = "abc-pipeline.base-recipe-plain"
DEBIAN_SUITE = "bookworm"
# A recipe's `# suite:` header picks its root file system: bookworm unless it says
# otherwise (trixie for the newer Go, Rust and Java a repository asks for).
DEBIAN_SUITES = ("bookworm", "trixie")
DEBIAN_MIRROR = os.environ.get("ABC_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# Bump when the way images are made changes (CA layer, rootfs steps): every base image
# is then rebuilt once, because its label no longer matches.
FORMAT_VERSION = "2"

CA_PATH_IN_CONTEXT = "abc-extra-ca.crt"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
CA_ENV_VARS = ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "CURL_CA_BUNDLE")
# The copy under /usr/local/share/ca-certificates survives a later update-ca-certificates
# (which rewrites the bundle from that folder) in an image built on the base.
CA_LAYER = f"""\
COPY {CA_PATH_IN_CONTEXT} /usr/local/share/ca-certificates/abc-pipeline-extra-ca.crt
RUN mkdir -p /etc/ssl/certs \\
 && cat /usr/local/share/ca-certificates/abc-pipeline-extra-ca.crt >> {CA_BUNDLE}
ENV {" ".join(f"{var}={CA_BUNDLE}" for var in CA_ENV_VARS)}
"""
CA_PLACEHOLDER = "# @extra-ca@"

Action = Literal["up-to-date", "pulled", "adopted", "built-local"]


@dataclass(frozen=True)
class Recipe:
    name: str
    image: str
    default: bool
    check: str
    template: str
    path: Path
    # docker/base/<name>/ when it exists: its files go into the build context (an
    # entrypoint script, a config file) and into the recipe's hash.
    context_dir: Path | None = None
    suite: str = DEBIAN_SUITE

    def files(self) -> list[tuple[str, Path]]:
        """(path in the build context, file) for the recipe's folder, in a stable order."""
        if self.context_dir is None or not self.context_dir.is_dir():
            return []
        found = (p for p in self.context_dir.rglob("*") if p.is_file())
        return sorted((p.relative_to(self.context_dir).as_posix(), p) for p in found)

    def render(self, with_ca: bool) -> str:
        """The Dockerfile of the local stand-in."""
        layer = CA_LAYER if with_ca else ""
        if CA_PLACEHOLDER in self.template:
            return self.template.replace(CA_PLACEHOLDER, layer.rstrip("\n"))
        return self.template.rstrip("\n") + "\n" + layer


class EnsureResult(BaseModel):
    name: str
    image: str
    action: Action
    seconds: float
    detail: str = ""


def load_recipes(recipe_dir: Path = RECIPE_DIR) -> dict[str, Recipe]:
    recipes: dict[str, Recipe] = {}
    for path in sorted(recipe_dir.glob("*.Dockerfile")):
        text = path.read_text()
        header = dict(re.findall(r"^# (image|default|check|suite): *(.*?) *$", text, flags=re.MULTILINE))
        if "image" not in header:
            raise ValueError(f"{path}: a base recipe needs an '# image: <official name>' line")
        if header.get("suite", DEBIAN_SUITE) not in DEBIAN_SUITES:
            raise ValueError(f"{path}: '# suite:' must be one of {', '.join(DEBIAN_SUITES)}")
        name = path.name.removesuffix(".Dockerfile")
        recipes[name] = Recipe(
            name=name,
            image=header["image"],
            default=header.get("default", "no").lower() in {"yes", "true", "1"},
            check=header.get("check", "true"),
            template=text,
            path=path,
            context_dir=recipe_dir / name if (recipe_dir / name).is_dir() else None,
            suite=header.get("suite", DEBIAN_SUITE),
        )
    return recipes


def recipe_for_image(image: str) -> Recipe | None:
    """The recipe whose official name is `image` (for FROM lines of generated Dockerfiles)."""
    return next((r for r in load_recipes().values() if r.image == image), None)


def recipe_hash(recipe: Recipe, ca: bytes | None) -> str:
    digest = hashlib.sha256()
    for part in (FORMAT_VERSION.encode(), recipe.template.encode(), CA_LAYER.encode(), ca or b""):
        digest.update(hashlib.sha256(part).digest())
    # Names and modes count too: a renamed or no-longer-executable script changes the image.
    # A recipe without a folder hashes as before, so its image is not rebuilt.
    for relative, file in recipe.files():
        mode = "x" if os.access(file, os.X_OK) else "-"
        digest.update(hashlib.sha256(f"{relative}:{mode}".encode()).digest())
        digest.update(hashlib.sha256(file.read_bytes()).digest())
    return digest.hexdigest()[:24]


def is_current(labels: dict[str, str] | None, recipe: Recipe, ca: bytes | None) -> bool:
    """Whether an image with these labels is what `recipe` (with this CA) makes."""
    if labels is None:
        return False
    if labels.get(BASE_RECIPE_LABEL) == recipe_hash(recipe, ca):
        return True
    return ca is None and labels.get(PLAIN_RECIPE_LABEL) == recipe_hash(recipe, None)


def _read_ca(settings: Settings) -> bytes | None:
    if settings.extra_ca_bundle is None:
        return None
    try:
        data = settings.extra_ca_bundle.read_bytes()
    except OSError as exc:
        raise StageError(
            Verdict.infra_error, f"cannot read the extra CA bundle {settings.extra_ca_bundle}: {exc}"
        ) from exc
    return data or None


def _labels(client: docker.DockerClient, image: str) -> dict[str, str] | None:
    """The image's labels, or None when it does not exist."""
    try:
        return client.images.get(image).labels or {}
    except docker.errors.ImageNotFound:
        return None
    except DAEMON_ERRORS as exc:
        raise infra_error(f"inspecting {image}", exc) from exc


# --------------------------------------------------------------------------- ensure


def ensure(
    names: Iterable[str] | None = None,
    settings: Settings | None = None,
    *,
    all_recipes: bool = False,
) -> list[EnsureResult]:
    """Make the base images exist; `names` are recipe names or official image names.

    Without names: the default recipes (python, node), or every recipe with all_recipes.
    Raises StageError(infra_error) when an image can be neither pulled nor built.
    """
    settings = settings or Settings()
    recipes = load_recipes()
    selected = _select(recipes, names, all_recipes)
    client = docker_client()
    ca = _read_ca(settings)
    results: list[EnsureResult] = []
    for recipe in selected:
        start = time.monotonic()
        if is_current(_labels(client, recipe.image), recipe, ca):
            seconds = round(time.monotonic() - start, 3)
            results.append(EnsureResult(name=recipe.name, image=recipe.image, action="up-to-date", seconds=seconds))
            continue
        # Another process may be building the same image: one builds, the other waits
        # and then finds it up to date.
        with _lock(settings):
            results.append(ensure_recipe(client, recipe, settings, ca))
    return results


def _select(recipes: dict[str, Recipe], names: Iterable[str] | None, all_recipes: bool) -> list[Recipe]:
    names = list(names or [])
    if not names:
        return [r for r in recipes.values() if all_recipes or r.default]
    by_image = {r.image: r for r in recipes.values()}
    selected = []
    for name in names:
        recipe = recipes.get(name) or by_image.get(name)
        if recipe is None:
            known = ", ".join(f"{r.name} ({r.image})" for r in recipes.values())
            raise StageError(Verdict.infra_error, f"no base recipe named {name!r}; known: {known}")
        selected.append(recipe)
    return selected


@contextlib.contextmanager
def _lock(settings: Settings) -> Iterator[None]:
    settings.work_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.work_dir / "base-images.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_recipe(client: docker.DockerClient, recipe: Recipe, settings: Settings, ca: bytes | None) -> EnsureResult:
    """One image, by the four steps of the module docstring (no lock, no fast-path skip)."""
    start = time.monotonic()
    expected = recipe_hash(recipe, ca)
    labels = _labels(client, recipe.image)

    def done(action: Action, detail: str = "") -> EnsureResult:
        return EnsureResult(
            name=recipe.name,
            image=recipe.image,
            action=action,
            seconds=round(time.monotonic() - start, 3),
            detail=detail,
        )

    if is_current(labels, recipe, ca):
        return done("up-to-date")
    pull_error = "offline" if settings.offline else _pull(client, recipe.image)
    if pull_error is None:
        _thin_layer(recipe, expected, ca, settings, source="pulled")
        return done("pulled")
    if labels is not None and not labels.get(BASE_RECIPE_LABEL):
        # Someone put the official image here without us (docker load, a mirror):
        # use it rather than replace it with a stand-in.
        _thin_layer(recipe, expected, ca, settings, source="adopted")
        return done("adopted", f"pull: {pull_error}")
    rootfs_seconds = ensure_rootfs(client, settings, recipe.suite)
    _build_local(recipe, expected, ca, settings)
    detail = f"pull: {pull_error}"
    if rootfs_seconds:
        detail += f"; made {rootfs_image(recipe.suite)} in {rootfs_seconds:.1f} s"
    return done("built-local", detail)


def _pull(client: docker.DockerClient, image: str) -> str | None:
    """None when the pull worked, else why not (a registry problem is not an error here)."""
    repository, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "latest")
    log.info("pulling %s", image)
    try:
        for chunk in client.api.pull(repository, tag=tag, stream=True, decode=True):
            if "error" in chunk:
                return str(chunk["error"]).strip()
    except docker.errors.APIError as exc:
        # Unknown host, not found, rate limit, auth: all mean "build it locally". Only a
        # dead daemon is the machine's problem, and that raises below.
        return str(exc.explanation or exc).strip()
    except DAEMON_ERRORS as exc:
        raise infra_error(f"pulling {image}", exc) from exc
    return None


def _thin_layer(recipe: Recipe, expected: str, ca: bytes | None, settings: Settings, *, source: str) -> None:
    """Tag `recipe.image` again with the extra CA (if any) and our labels on top."""
    dockerfile = f"FROM {recipe.image}\n" + (CA_LAYER if ca else "")
    log.info("adding %s to %s", "the extra CA bundle" if ca else "labels", recipe.image)
    _build(recipe, dockerfile, expected, ca, settings, source=source)


def _build_local(recipe: Recipe, expected: str, ca: bytes | None, settings: Settings) -> None:
    log.info("building %s locally from %s", recipe.image, recipe.path)
    _build(recipe, recipe.render(with_ca=ca is not None), expected, ca, settings, source="local", files=recipe.files())


def _build(
    recipe: Recipe,
    dockerfile: str,
    expected: str,
    ca: bytes | None,
    settings: Settings,
    *,
    source: str,
    files: list[tuple[str, Path]] | None = None,
) -> None:
    client = docker_client()
    try:
        previous: str | None = client.images.get(recipe.image).id
    except docker.errors.ImageNotFound:
        previous = None
    except DAEMON_ERRORS as exc:
        raise infra_error(f"inspecting {recipe.image}", exc) from exc
    with tempfile.TemporaryDirectory(prefix="abc-base-") as tmp:
        context = Path(tmp)
        (context / "Dockerfile").write_text(dockerfile)
        if ca:
            (context / CA_PATH_IN_CONTEXT).write_bytes(ca)
        for relative, file in files or []:
            target = context / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)  # keeps the executable bit the recipe's COPY relies on
        result = build_image(
            context,
            recipe.image,
            labels={
                BASE_RECIPE_LABEL: expected,
                PLAIN_RECIPE_LABEL: recipe_hash(recipe, None),
                BASE_NAME_LABEL: recipe.name,
                BASE_IMAGE_LABEL: recipe.image,
                SOURCE_LABEL: source,
            },
            timeout=settings.limits.build_timeout,
            on_line=_progress,
        )
    if not result.ok:
        tail = "\n".join(result.log.rstrip().splitlines()[-25:])
        raise StageError(
            Verdict.infra_error,
            f"building the base image {recipe.image} ({source}) failed after {result.seconds:.0f} s:\n{tail}",
            stage="base_images",
        )
    if previous and previous != result.image_id:
        # The image this one replaces is now untagged: hundreds of MB of nothing. Without
        # force, Docker keeps it while a container or a child image still uses it.
        with contextlib.suppress(*DAEMON_ERRORS):
            client.images.remove(previous)


def _progress(line: str) -> None:
    if line.startswith("Step "):
        log.info("  %s", line)
    else:
        log.debug("  %s", line)


# --------------------------------------------------------------------------- rootfs


def rootfs_image(suite: str = DEBIAN_SUITE) -> str:
    """The Debian root file system a recipe of `suite` builds FROM."""
    return ROOTFS_IMAGE if suite == DEBIAN_SUITE else f"{ROOTFS_IMAGE.split(':')[0]}:{suite}"


def ensure_rootfs(client: docker.DockerClient, settings: Settings, suite: str = DEBIAN_SUITE) -> float:
    """Make abc-pipeline/debian:<suite> unless it exists; seconds spent (0 if it did)."""
    image = rootfs_image(suite)
    if _labels(client, image) is not None:
        return 0.0
    start = time.monotonic()
    if os.geteuid() != 0:
        raise StageError(
            Verdict.infra_error,
            f"no base image can be pulled and making {image} with debootstrap needs root: "
            "run `sudo bash scripts/setup.sh`, or make the official images available (docker pull/load)",
            stage="base_images",
        )
    debootstrap = shutil.which("debootstrap") or _install_debootstrap()
    scratch = settings.work_dir / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="abc-rootfs-", dir=scratch))
    rootfs = workdir / "rootfs"
    try:
        log.info("debootstrap %s from %s (about 30 s)", suite, DEBIAN_MIRROR)
        _run(
            [debootstrap, "--variant=minbase", suite, str(rootfs), DEBIAN_MIRROR],
            "debootstrap",
            timeout=1800,
        )
        _finish_rootfs(rootfs, suite)
        tarball = workdir / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(tarball), "."], "tar", timeout=600)
        log.info("importing %s", image)
        repository, tag = image.split(":")
        changes = [
            f"LABEL {LABEL}=1 {BASE_RECIPE_LABEL}=rootfs {BASE_NAME_LABEL}=debian "
            f"{BASE_IMAGE_LABEL}={image} {SOURCE_LABEL}=debootstrap",
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            'CMD ["bash"]',
        ]
        try:
            output = client.api.import_image(src=str(tarball), repository=repository, tag=tag, changes=changes)
        except DAEMON_ERRORS as exc:
            raise infra_error(f"importing {image}", exc) from exc
        if _labels(client, image) is None:
            raise StageError(Verdict.infra_error, f"docker import did not produce {image}: {output}")
    finally:
        _remove_tree(workdir)
    return time.monotonic() - start


def _finish_rootfs(rootfs: Path, suite: str) -> None:
    # Like the official debian image: updates and security sources, no apt caches kept
    # in layers, no man pages or locales a server never reads.
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {DEBIAN_MIRROR} {suite} main\n"
        f"deb {DEBIAN_MIRROR} {suite}-updates main\n"
        f"deb {DEBIAN_MIRROR}-security {suite}-security main\n"
        if DEBIAN_MIRROR.endswith("/debian")
        else f"deb {DEBIAN_MIRROR} {suite} main\n"
    )
    apt_conf = rootfs / "etc/apt/apt.conf.d"
    (apt_conf / "docker-clean").write_text(
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\n'
        'APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };\n'
        'Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";\n'
    )
    (apt_conf / "docker-no-languages").write_text('Acquire::Languages "none";\n')
    for pattern in ("var/cache/apt/archives/*.deb", "var/cache/apt/*.bin", "var/lib/apt/lists/*"):
        for path in rootfs.glob(pattern):
            if path.is_file():
                path.unlink()
    # A resolv.conf or hostname from the host must not be baked in; Docker mounts its own.
    for name in ("etc/resolv.conf", "etc/hostname"):
        with contextlib.suppress(FileNotFoundError):
            (rootfs / name).unlink()


def _install_debootstrap() -> str:
    log.info("installing debootstrap with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run(["apt-get", "update"], "apt-get update", timeout=600, env=env)
    _run(["apt-get", "install", "-y", "debootstrap"], "apt-get install debootstrap", timeout=600, env=env)
    found = shutil.which("debootstrap") or ("/usr/sbin/debootstrap" if Path("/usr/sbin/debootstrap").exists() else None)
    if found is None:
        raise StageError(Verdict.infra_error, "debootstrap is still missing after apt-get install")
    return found


def _run(argv: list[str], what: str, *, timeout: int, env: dict[str, str] | None = None) -> None:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env, check=False)
    except FileNotFoundError as exc:
        raise StageError(Verdict.infra_error, f"{what}: {argv[0]} is not installed") from exc
    except subprocess.TimeoutExpired as exc:
        raise StageError(Verdict.infra_error, f"{what} took longer than {timeout} s") from exc
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise StageError(Verdict.infra_error, f"{what} failed (exit {proc.returncode}):\n{tail}")


def _remove_tree(path: Path) -> None:
    # debootstrap mounts /proc and /sys inside the target while it runs; a killed run can
    # leave them mounted, and rmtree must never descend into a live /proc or /sys.
    target = str(path.resolve())
    with contextlib.suppress(OSError):
        mounts = [line.split()[1] for line in Path("/proc/mounts").read_text().splitlines()]
        for mount in sorted((m for m in mounts if m.startswith(target + "/")), reverse=True):
            subprocess.run(["umount", "-l", mount], check=False, capture_output=True)
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- CLI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.runtime.base_images")
    sub = parser.add_subparsers(dest="command", required=True)
    ensure_cmd = sub.add_parser("ensure", help="make the base images exist (pull, or build locally)")
    ensure_cmd.add_argument("names", nargs="*", help="recipe or image names (default: the default recipes)")
    ensure_cmd.add_argument("--all", action="store_true", help="every recipe in docker/base")
    ensure_cmd.add_argument("--offline", action="store_true", help="never pull; build local stand-ins")
    ensure_cmd.add_argument("-v", "--verbose", action="store_true", help="show the whole build output")
    sub.add_parser("list", help="the recipes and the official image each stands for")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(message)s",
        stream=sys.stderr,
    )
    if args.command == "list":
        for recipe in load_recipes().values():
            print(f"{recipe.name:8} {recipe.image:28} {'default' if recipe.default else ''}")
        return 0

    settings = Settings()
    if args.offline:
        settings = settings.model_copy(update={"offline": True})
    start = time.monotonic()
    try:
        results = ensure(args.names or None, settings, all_recipes=args.all)
    except StageError as exc:
        print(f"error: {exc.reason}", file=sys.stderr)
        return 1
    for result in results:
        detail = f" ({result.detail})" if result.detail and result.action != "up-to-date" else ""
        print(f"{result.image}: {result.action} in {result.seconds:.1f} s{detail}")
    print(f"base images ready in {time.monotonic() - start:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
