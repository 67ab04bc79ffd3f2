"""Small HTTP services on loopback for the test writer's tests, and a run of the tests it
ships against one: the recording and the shipped tests are checked against a live service
without Docker."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from pipeline.stages import testgen


def answer_json(handler: BaseHTTPRequestHandler, status: int, body: object = None) -> None:
    """Send `body` as JSON (nothing for None) with `status`."""
    data = b"" if body is None else json.dumps(body).encode()
    handler.send_response(status)
    if body is not None:
        handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@contextmanager
def stub_servers() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    """`start(handler_class) -> base URL`; every server started is stopped at the end."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def run_shipped_tests(
    test_func: str, url: str, folder: Path, test_connect: str | None = None
) -> subprocess.CompletedProcess:
    """The shipped test_func.py (and test_connect.py, when given; with the shipped
    conftest.py) run by pytest against `url`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "conftest.py").write_text(testgen.conftest_source())
    (folder / "test_func.py").write_text(test_func)
    if test_connect is not None:
        (folder / "test_connect.py").write_text(test_connect)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(folder)]
    return subprocess.run(
        [*command, "-c", "/dev/null", str(folder)],
        env={"SERVICE_URL": url, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
