"""One local Prefect server, started on first use and shared by every later run.

Without a server, Prefect starts an ephemeral API server (SQLite, migrations, uvicorn) in
every process that runs a flow, which costs 10-20 s per command. Instead, the first
command that runs a flow starts `prefect server start` in the background (its own session,
log and pid file under `$ABC_WORK_DIR/prefect/`), waits until `/api/health` answers, and
records its address; later commands find it there and only set `PREFECT_API_URL`.

- A Prefect API the user configured (PREFECT_API_URL in the environment, the active
  Prefect profile, `.env`, `prefect.toml` or `pyproject.toml`) is always used as is: no
  server is started.
- `ABC_PREFECT_SERVER=ephemeral` keeps Prefect's ephemeral mode (`local` forces the shared
  server; the default, `auto`, is `local` except under pytest, whose subprocesses must
  not leave servers behind).
- A file lock makes two commands started at once share one server; a recorded server
  that is dead or does not answer is replaced. A small watchdog beside the server stops
  it once its work folder no longer records it (a deleted temporary ABC_WORK_DIR).
- When no server answers within `ABC_PREFECT_SERVER_TIMEOUT` seconds (60), the command
  falls back to the ephemeral mode and says so in one line.

Nothing here imports Prefect: commands that run no flow stay fast. Call `ensure_server`
before Prefect is imported, since Prefect reads PREFECT_API_URL when it is imported.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pipeline.config import Settings

MODE_ENV = "ABC_PREFECT_SERVER"
TIMEOUT_ENV = "ABC_PREFECT_SERVER_TIMEOUT"
# Set beside PREFECT_API_URL when the URL is ours, so a later call (or a child process)
# can tell our server from one the user configured.
OURS_ENV = "ABC_PREFECT_SERVER_URL"
HOST = "127.0.0.1"
DEFAULT_TIMEOUT = 60.0
PREFIX = "[abc-pipeline]"

Mode = Literal["local", "ephemeral"]
# Loopback only, never through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# Servers this process started: kept so they can be reaped (no zombie, no ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen] = {}


# Beside each server, a tiny watchdog (no imports of ours) stops it once its work folder no
# longer records it: a temporary ABC_WORK_DIR deleted after a script leaves no server behind.
_WATCHDOG = """
import json, os, signal, sys, time
pid, state = int(sys.argv[1]), sys.argv[2]
def alive():
    try:
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except ProcessLookupError:
        return False
    except (OSError, IndexError):
        return True
def recorded():
    try:
        with open(state) as fh:
            return json.load(fh).get("pid") == pid
    except FileNotFoundError:
        return False
    except (OSError, ValueError):
        return True
while alive() and recorded():
    time.sleep(2)
for sig in (signal.SIGTERM, signal.SIGKILL):
    if not alive():
        break
    try:
        os.killpg(pid, sig)
    except OSError:
        break
    for _ in range(100):
        if not alive():
            break
        time.sleep(0.1)
"""


class ServerUnavailable(Exception):
    """No local server could be started or reached; the caller falls back to ephemeral."""


@dataclass
class ServerState:
    """What `server.json` records about the running server."""

    url: str  # the UI
    api_url: str  # what PREFECT_API_URL is set to
    pid: int
    port: int
    started_at: float
    prefect_version: str
    python: str
    log: str


@dataclass
class Status:
    """What `abc-pipeline server status` reports."""

    mode: Mode
    user_url: str | None  # a Prefect API the user configured: used instead of ours
    user_source: str | None
    state: ServerState | None  # the recorded server, if any
    alive: bool
    answers: bool

    @property
    def uptime(self) -> float | None:
        return time.time() - self.state.started_at if self.state and self.alive else None


@dataclass(frozen=True)
class _Paths:
    root: Path

    @property
    def state(self) -> Path:
        return self.root / "server.json"

    @property
    def pid(self) -> Path:
        return self.root / "server.pid"

    @property
    def lock(self) -> Path:
        return self.root / "server.lock"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def home(self) -> Path:
        return self.root / "home"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def server_dir(settings: Settings) -> Path:
    return settings.work_dir / "prefect"


def resolve_mode(log: Callable[[str], None] | None = None) -> Mode:
    """ABC_PREFECT_SERVER: local, ephemeral, or auto (the default)."""
    value = os.environ.get(MODE_ENV, "").strip().lower()
    if value in {"local", "server"}:
        return "local"
    if value == "ephemeral":
        return "ephemeral"
    if value not in {"", "auto"} and log is not None:
        log(f"{PREFIX} {MODE_ENV}={value!r} is not local, ephemeral or auto; using auto")
    return "local"


def _timeout() -> float:
    try:
        return float(os.environ.get(TIMEOUT_ENV) or DEFAULT_TIMEOUT)
    except ValueError:
        return DEFAULT_TIMEOUT


# --- a Prefect API the user configured


def _toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError):
        return {}


def _dig(data: dict, *keys: str) -> object:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _dotenv_value(path: Path, name: str) -> str | None:
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        key, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and key.strip() == name:
            return value.strip().strip("'\"") or None
    return None


def _profile_url() -> str | None:
    home = os.environ.get("PREFECT_HOME")
    path = Path(
        os.environ.get("PREFECT_PROFILES_PATH")
        or (Path(home) / "profiles.toml" if home else Path.home() / ".prefect" / "profiles.toml")
    ).expanduser()
    data = _toml(path)
    active = os.environ.get("PREFECT_PROFILE") or data.get("active")
    value = _dig(data, "profiles", str(active), "PREFECT_API_URL") if active else None
    return str(value) if value else None


def user_api_url() -> tuple[str, str] | None:
    """The Prefect API the user configured and where it comes from, else None.

    Checks Prefect's own sources, without importing Prefect: the environment, Prefect's
    settings when already loaded in this process (e.g. a test harness), `.env`,
    `prefect.toml` and `pyproject.toml` in the current folder, and the active profile.
    """
    ours = os.environ.get(OURS_ENV)
    value = os.environ.get("PREFECT_API_URL")
    if value and value != ours:
        return value, "PREFECT_API_URL in the environment"
    if "prefect.settings" in sys.modules:
        from prefect.settings import get_current_settings

        loaded = get_current_settings().api.url
        if loaded and loaded != ours:
            return str(loaded), "Prefect's settings in this process"
    candidates = [
        (_dotenv_value(Path(".env"), "PREFECT_API_URL"), ".env"),
        (_dig(_toml(Path("prefect.toml")), "api", "url"), "prefect.toml"),
        (_dig(_toml(Path("pyproject.toml")), "tool", "prefect", "api", "url"), "pyproject.toml [tool.prefect]"),
        (_profile_url(), "the active Prefect profile"),
    ]
    for found, where in candidates:
        if found and found != ours:
            return str(found), where
    return None


# --- processes


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not yet reaped by its parent) is no server
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _is_prefect_server(pid: int) -> bool:
    """Whether pid still is a `prefect server start` (a recorded pid may have been reused)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        ps = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, check=False)
        words = ps.stdout.split()
    return "prefect" in words and "server" in words and "start" in words


def _reap(pid: int) -> None:
    child = _CHILDREN.pop(pid, None)
    if child is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=0.1)


def _terminate(pid: int, grace: float = 10.0) -> None:
    """Stop a server and its process group: SIGTERM, then SIGKILL after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if not _alive(pid):
            break
        try:
            os.killpg(pid, sig)  # its own session: the group is the server and its children
        except (ProcessLookupError, PermissionError):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, sig)
        deadline = time.monotonic() + wait
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    _reap(pid)


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with _OPENER.open(f"{url}/api/health", timeout=timeout) as response:
            return response.status == 200 and response.read().strip() == b"true"
    except (OSError, ValueError, http.client.HTTPException):
        return False


def _answers(state: ServerState, tries: int = 3) -> bool:
    """A generous check before a server is given up: it may be busy with another run."""
    for attempt in range(tries):
        if _healthy(state.url, timeout=3.0):
            return True
        if not _alive(state.pid):
            return False
        if attempt + 1 < tries:
            time.sleep(0.5)
    return False


def _usable(state: ServerState, wait: float) -> bool:
    if state.prefect_version != _prefect_version() or not _alive(state.pid) or not _is_prefect_server(state.pid):
        return False
    if _answers(state):
        return True
    # Still starting (the command that started it was interrupted): wait for it, not replace it.
    while time.time() < state.started_at + wait and _alive(state.pid):
        if _healthy(state.url):
            return True
        time.sleep(0.2)
    return False


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- state


def _read_state(paths: _Paths) -> ServerState | None:
    try:
        return ServerState(**json.loads(paths.state.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _write_state(paths: _Paths, state: ServerState) -> None:
    tmp = paths.state.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(state), indent=2) + "\n")
    os.replace(tmp, paths.state)
    paths.pid.write_text(f"{state.pid}\n")


def _forget(paths: _Paths) -> None:
    for path in (paths.state, paths.pid):
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


@contextlib.contextmanager
def _locked(paths: _Paths, wait: float) -> Iterator[None]:
    """One process at a time decides about (and starts) the server of a work folder."""
    paths.root.mkdir(parents=True, exist_ok=True)
    fd = os.open(paths.lock, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by the server
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise ServerUnavailable(f"another process held {paths.lock} for over {wait:.0f} s") from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # releases the lock


def _prefect_version() -> str:
    try:
        return metadata.version("prefect")
    except metadata.PackageNotFoundError:
        return "unknown"


def _server_env(paths: _Paths, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PREFECT_API_URL", OURS_ENV, "PREFECT_PROFILE"}}
    env.update(
        {
            "PREFECT_HOME": str(paths.home),  # its own database and profiles
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT_SERVER_API_HOST": HOST,
            "PREFECT_SERVER_API_PORT": str(port),
            "PREFECT_PROFILES_PATH": str(paths.home / "profiles.toml"),
        }
    )
    return env


def _spawn(paths: _Paths) -> tuple[subprocess.Popen, ServerState]:
    paths.home.mkdir(parents=True, exist_ok=True)
    if paths.log.exists():
        os.replace(paths.log, paths.log.with_suffix(".log.1"))
    port = _free_port()
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", HOST, "--port", str(port)]
    with paths.log.open("ab") as out:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_server_env(paths, port),
            cwd=paths.root,  # a .env or prefect.toml where the user stands does not apply
            start_new_session=True,  # survives the command and its terminal's Ctrl-C
        )
    _CHILDREN[process.pid] = process
    url = f"http://{HOST}:{port}"
    state = ServerState(
        url=url,
        api_url=f"{url}/api",
        pid=process.pid,
        port=port,
        started_at=time.time(),
        prefect_version=_prefect_version(),
        python=sys.executable,
        log=str(paths.log),
    )
    _write_state(paths, state)
    watchdog = subprocess.Popen(
        [sys.executable, "-I", "-c", _WATCHDOG, str(process.pid), str(paths.state)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={"PATH": os.environ.get("PATH", "")},
        start_new_session=True,
    )
    _CHILDREN[watchdog.pid] = watchdog
    return process, state


def _start(paths: _Paths, timeout: float, log: Callable[[str], None], meanwhile: Callable[[], None]) -> ServerState:
    log(f"{PREFIX} starting a local Prefect server (once; later runs reuse it)")
    deadline = time.monotonic() + timeout
    for attempt in (1, 2):  # a second try only if the first exited (e.g. its port was taken)
        process, state = _spawn(paths)
        # Its address is known now: the caller's own start-up (importing Prefect, which reads
        # PREFECT_API_URL) runs while the server starts.
        _apply(state.api_url)
        meanwhile()
        while time.monotonic() < deadline and process.poll() is None:
            if _healthy(state.url, timeout=2.0):
                log(f"{PREFIX} Prefect server ready, UI at {state.url} (`abc-pipeline server stop` stops it)")
                return state
            time.sleep(0.2)
        code = process.poll()
        _terminate(process.pid)
        _forget(paths)
        if code is None:
            raise ServerUnavailable(f"no local Prefect server answered within {timeout:g} s (log: {paths.log})")
        if attempt == 2 or time.monotonic() >= deadline:
            raise ServerUnavailable(f"the local Prefect server exited with code {code} (log: {paths.log})")
    raise AssertionError("unreachable")


def _retire(paths: _Paths, state: ServerState) -> None:
    """Give up a recorded server: stop it if it still is one, forget it either way."""
    if _alive(state.pid) and _is_prefect_server(state.pid):
        _terminate(state.pid)
    _forget(paths)


def _refresh_prefect() -> None:
    """Prefect reads its settings when imported: if it already is, make it read them again."""
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()


def _apply(api_url: str) -> None:
    os.environ["PREFECT_API_URL"] = api_url
    os.environ[OURS_ENV] = api_url
    _refresh_prefect()


def _unapply() -> None:
    if os.environ.get(OURS_ENV) and os.environ.get("PREFECT_API_URL") == os.environ[OURS_ENV]:
        del os.environ["PREFECT_API_URL"]
    os.environ.pop(OURS_ENV, None)
    _refresh_prefect()


class _Once:
    def __init__(self, fn: Callable[[], object] | None) -> None:
        self.fn = fn

    def __call__(self) -> None:
        fn, self.fn = self.fn, None
        if fn is not None:
            fn()


# --- the interface


def ensure_server(
    settings: Settings,
    *,
    mode: Mode | None = None,
    timeout: float | None = None,
    log: Callable[[str], None] = _stderr,
    meanwhile: Callable[[], object] | None = None,
) -> str | None:
    """The Prefect API URL this process's flows use (PREFECT_API_URL is set to it), or None
    for Prefect's ephemeral mode. A user's configured API wins; else the work folder's
    shared server is reused, or started and waited for.

    `meanwhile` (e.g. importing the flows) is called once: while a new server starts, else
    before returning.
    """
    once = _Once(meanwhile)
    user = user_api_url()
    if user is not None:
        once()
        return user[0]
    if (mode or resolve_mode(log)) == "ephemeral":
        once()
        return None
    paths = _Paths(server_dir(settings))
    wait = _timeout() if timeout is None else timeout
    try:
        with _locked(paths, wait + 30):
            state = _read_state(paths)
            if state is not None and not _usable(state, wait):
                _retire(paths, state)
                state = None
            if state is None:
                state = _start(paths, wait, log, once)
    except (ServerUnavailable, OSError) as exc:
        log(f"{PREFIX} {exc}; running on Prefect's ephemeral mode instead")
        _unapply()
        once()
        return None
    _apply(state.api_url)
    once()
    return state.api_url


def status(settings: Settings) -> Status:
    paths = _Paths(server_dir(settings))
    state = _read_state(paths)
    alive = state is not None and _alive(state.pid) and _is_prefect_server(state.pid)
    user = user_api_url()
    return Status(
        mode=resolve_mode(),
        user_url=user[0] if user else None,
        user_source=user[1] if user else None,
        state=state,
        alive=alive,
        answers=alive and state is not None and _healthy(state.url),
    )


def stop(settings: Settings) -> ServerState | None:
    """Stop the work folder's server; the state it had, or None when none was recorded."""
    paths = _Paths(server_dir(settings))
    if not paths.state.exists():
        return None
    with _locked(paths, _timeout() + 30):  # a server being started is stopped once it is up
        state = _read_state(paths)
        if state is not None:
            _retire(paths, state)
        else:
            _forget(paths)
    if os.environ.get(OURS_ENV) == (state.api_url if state else None):
        _unapply()
    return state


def format_uptime(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return (f"{days}d " if days else "") + f"{hours}h {minutes:02d}m {secs:02d}s"
