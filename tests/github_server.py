"""A GitHub-compatible REST server for the tests: scripted search answers over real git
repositories on disk.

It answers the few endpoints mining uses, the way api.github.com shapes them:
`/search/repositories` (paginated by `page`/`per_page`, with `Link` headers and
`total_count`), `/repos/{owner}/{name}/commits/{ref}` and `/repos/{owner}/{name}/contents/{path}`.
Commits, trees and file contents come from bare repositories made from the fixtures, so
what the API says and what a clone gets agree. The search ignores its qualifiers on
purpose (it returns every scripted repository): the client's own filters must do the
work. A rate-limit answer (403 with X-RateLimit-Reset) can be scripted for a request.
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlparse

APACHE_LICENSE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""

_GIT_ENV = {
    "GIT_AUTHOR_NAME": "fixture",
    "GIT_AUTHOR_EMAIL": "fixture@localhost",
    "GIT_COMMITTER_NAME": "fixture",
    "GIT_COMMITTER_EMAIL": "fixture@localhost",
    "GIT_AUTHOR_DATE": "2001-01-01T00:00:00+0000",
    "GIT_COMMITTER_DATE": "2001-01-01T00:00:00+0000",
    "PATH": "/usr/bin:/bin:/usr/local/bin",
}


def _git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=_GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_bare_repo(source: Path, dest: Path, overrides: dict[str, str] | None = None) -> Path:
    """A bare git repository at dest holding source's files (plus overrides) in one commit."""
    work = dest.with_name(dest.name + ".work")
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("ground_truth.json", "__pycache__"))
    for name, text in (overrides or {}).items():
        (work / name).write_text(text)
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "fixture")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _git(work.parent, "clone", "-q", "--bare", str(work), str(dest))
    shutil.rmtree(work)
    return dest


@dataclass
class FakeRepo:
    """One repository as the search API shows it, backed by a bare repository."""

    full_name: str
    bare: Path
    license: str | None = "mit"
    language: str = "Python"
    stars: int = 50
    fork: bool = False
    archived: bool = False
    is_template: bool = False
    size_kb: int = 40
    pushed_at: str = "2026-06-01T00:00:00Z"


@dataclass
class FakeGitHub:
    repos: list[FakeRepo]
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    # (path prefix, reset in seconds): the next request matching the prefix gets a 403.
    rate_limits: list[tuple[str, float]] = field(default_factory=list)
    url: str = ""

    def repo_json(self, repo: FakeRepo) -> dict:
        owner, name = repo.full_name.split("/")
        api = f"{self.url}/repos/{repo.full_name}"
        licence = None
        if repo.license:
            licence = {"key": repo.license, "spdx_id": _SPDX.get(repo.license, repo.license), "name": repo.license}
        return {
            "id": abs(hash(repo.full_name)) % 10**9,
            "name": name,
            "full_name": repo.full_name,
            "owner": {"login": owner, "id": 1, "type": "User"},
            "private": False,
            "url": api,
            "html_url": f"{self.url}/{repo.full_name}",
            "clone_url": repo.bare.as_uri(),
            "default_branch": "main",
            "license": licence,
            "language": repo.language,
            "stargazers_count": repo.stars,
            "size": repo.size_kb,
            "fork": repo.fork,
            "archived": repo.archived,
            "is_template": repo.is_template,
            "pushed_at": repo.pushed_at,
        }

    def find(self, full_name: str) -> FakeRepo | None:
        return next((r for r in self.repos if r.full_name == full_name), None)


_SPDX = {"mit": "MIT", "apache-2.0": "Apache-2.0", "gpl-3.0": "GPL-3.0"}


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeGitHub/1"
    state: FakeGitHub  # set on the subclass made per server

    def log_message(self, *args: object) -> None:  # keep pytest output quiet
        pass

    def _send(self, status: int, body: object, headers: dict[str, str] | None = None) -> None:
        blob = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(blob)))
        reset = str(int(time.time()) + 60)
        limits = {"X-RateLimit-Limit": "30", "X-RateLimit-Remaining": "29", "X-RateLimit-Reset": reset}
        for key, value in {**limits, **(headers or {})}.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(blob)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        state = self.state
        parsed = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        state.requests.append((parsed.path, {**query, "authorization": self.headers.get("Authorization", "")}))
        for i, (prefix, reset_in) in enumerate(state.rate_limits):
            if parsed.path.startswith(prefix) and (prefix != "/search" or query.get("page", "1") != "1"):
                del state.rate_limits[i]
                reset = int(time.time() + reset_in)
                self._send(
                    403,
                    {"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs"},
                    {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
                )
                return
        if parsed.path == "/search/repositories":
            self._search(query)
        elif parsed.path.startswith("/repos/"):
            self._repo(parsed.path.split("/")[2:], query)
        else:
            self._send(404, {"message": "Not Found"})

    def _search(self, query: dict[str, str]) -> None:
        state = self.state
        page, per_page = int(query.get("page", "1")), int(query.get("per_page", "30"))
        items = [state.repo_json(r) for r in state.repos]
        chunk = items[(page - 1) * per_page : page * per_page]
        last = max(1, -(-len(items) // per_page))
        links = []
        base = f"{state.url}/search/repositories?"
        if page < last:
            links.append(f'<{base}{urlencode({**query, "page": page + 1})}>; rel="next"')
            links.append(f'<{base}{urlencode({**query, "page": last})}>; rel="last"')
        headers = {"Link": ", ".join(links)} if links else {}
        self._send(200, {"total_count": len(items), "incomplete_results": False, "items": chunk}, headers)

    def _repo(self, parts: list[str], query: dict[str, str]) -> None:
        repo = self.state.find("/".join(parts[:2]))
        if repo is None or len(parts) < 3:
            self._send(404, {"message": "Not Found"})
            return
        api = f"{self.state.url}/repos/{repo.full_name}"
        if not repo.bare.exists():  # what GitHub answers for a repository without commits
            self._send(409, {"message": "Git Repository is empty."})
            return
        try:
            if parts[2] == "commits" and len(parts) == 4:
                sha = _git(repo.bare, "rev-parse", parts[3])
                tree = _git(repo.bare, "rev-parse", f"{sha}^{{tree}}")
                body = {
                    "sha": sha,
                    "url": f"{api}/commits/{sha}",
                    "commit": {"message": "fixture", "tree": {"sha": tree, "url": f"{api}/git/trees/{tree}"}},
                }
                self._send(200, body)
                return
            if parts[2] == "contents":
                self._contents(repo, api, "/".join(p for p in parts[3:] if p), query.get("ref", "main"))
                return
        except subprocess.CalledProcessError:
            pass
        self._send(404, {"message": "Not Found"})

    def _contents(self, repo: FakeRepo, api: str, path: str, ref: str) -> None:
        kind = _git(repo.bare, "cat-file", "-t", f"{ref}:{path}")
        if kind == "tree":
            entries = []
            for line in _git(repo.bare, "ls-tree", "-l", f"{ref}:{path}" if path else ref).splitlines():
                meta, name = line.split("\t", 1)
                _mode, otype, sha, size = meta.split()
                child = f"{path}/{name}" if path else name
                entries.append(
                    {
                        "type": "file" if otype == "blob" else "dir",
                        "name": name,
                        "path": child,
                        "sha": sha,
                        "size": 0 if size == "-" else int(size),
                        "url": f"{api}/contents/{child}?ref={ref}",
                    }
                )
            self._send(200, entries)
            return
        raw = subprocess.run(["git", "show", f"{ref}:{path}"], cwd=repo.bare, check=True, capture_output=True).stdout
        self._send(
            200,
            {
                "type": "file",
                "name": path.rsplit("/", 1)[-1],
                "path": path,
                "sha": _git(repo.bare, "rev-parse", f"{ref}:{path}"),
                "size": len(raw),
                "encoding": "base64",
                "content": base64.b64encode(raw).decode(),
                "url": f"{api}/contents/{path}?ref={ref}",
            },
        )


class GitHubServer:
    """Runs a FakeGitHub on 127.0.0.1 in a thread; use as a context manager."""

    def __init__(self, state: FakeGitHub) -> None:
        self.state = state
        handler = type("Handler", (_Handler,), {"state": state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        state.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return self.state.url

    def __enter__(self) -> GitHubServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
