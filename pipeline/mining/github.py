"""`abc-pipeline mine`: search a GitHub-compatible API and write the candidate manifest.

Every repository the search returns gets one manifest line, accepted or rejected with its
reason. The search qualifiers narrow the result, but each condition is checked again on
the repository itself (search indexes lag: a repository archived or relicensed yesterday
still matches), and the license the API reports is confirmed by classifying the
repository's own LICENSE file with the license gate's rules.

The manifest is appended line by line and flushed, so it is also the resume state: a run
started again skips every repository already in it. A rate limit either waits for its
reset (up to `max_wait` seconds) or stops cleanly, leaving a cursor (the next search page)
next to the manifest; the same command then resumes from that page.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from github import Auth, Github, GithubException, RateLimitExceededException
from github.Repository import Repository

from pipeline.mining.hints import framework_hints, manifest_files
from pipeline.mining.models import Candidate, MineCursor, MineQuery, MineReport, read_manifest
from pipeline.stages.license import LICENSE_FILE_RE, declared_licenses, license_verdict

log = logging.getLogger(__name__)
T = TypeVar("T")
DEFAULT_API_URL = "https://api.github.com"
# GitHub's search answers at most 1000 results per query (a later page is a 422); narrow
# the query (stars, pushed-after, language) to see more.
SEARCH_RESULT_CAP = 1000


class _RateLimited(Exception):
    def __init__(self, reset_at: dt.datetime | None) -> None:
        super().__init__("rate limited")
        self.reset_at = reset_at


def cursor_path(manifest: Path) -> Path:
    return manifest.with_name(manifest.name + ".cursor.json")


def _reset_time(exc: GithubException) -> dt.datetime | None:
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    if "retry-after" in headers:  # secondary rate limits say how long, not until when
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=float(headers["retry-after"]))
    if "x-ratelimit-reset" in headers:
        return dt.datetime.fromtimestamp(int(headers["x-ratelimit-reset"]), dt.UTC)
    return None


class Miner:
    """One mining run: a client, the query, and what is already in the manifest."""

    def __init__(
        self,
        query: MineQuery,
        manifest: Path,
        api_url: str = DEFAULT_API_URL,
        token: str | None = None,
        max_wait: float = 900.0,
        per_page: int = 30,
        seconds_between_requests: float = 0.25,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.query = query
        self.manifest = manifest
        self.max_wait = max_wait
        self.sleep = sleep
        # retry=None: rate limits are handled here (wait or stop with a cursor), not by
        # PyGithub's built-in retry, which would sleep for up to an hour unseen.
        self.github = Github(
            base_url=api_url.rstrip("/"),
            auth=Auth.Token(token) if token else None,
            per_page=per_page,
            retry=None,
            seconds_between_requests=seconds_between_requests,
        )
        self.per_page = per_page

    def _call(self, fn: Callable[[], T]) -> T:
        """fn(), waiting out rate limits shorter than max_wait; longer ones stop the run."""
        while True:
            try:
                return fn()
            except RateLimitExceededException as exc:
                reset_at = _reset_time(exc)
                wait = (reset_at - dt.datetime.now(dt.UTC)).total_seconds() + 1 if reset_at else self.max_wait + 1
                if wait > self.max_wait:
                    raise _RateLimited(reset_at) from None
                log.info("rate limited; waiting %.0f s for the reset", wait)
                self.sleep(max(wait, 0))

    def run(self) -> MineReport:
        q = self.query.search_string()
        existing = read_manifest(self.manifest)
        seen = {c.full_name for c in existing}
        trees = {c.tree: c.full_name for c in existing if c.tree and c.decision == "accepted"}
        accepted = sum(c.decision == "accepted" for c in existing)
        rejected = len(existing) - accepted
        cursor_file = cursor_path(self.manifest)
        page = 0
        if cursor_file.is_file():
            cursor = MineCursor.model_validate_json(cursor_file.read_text())
            page = cursor.next_page if cursor.query == q else 0
        results = self.github.search_repositories(query=q, sort="stars", order="desc")
        pages = 0
        self.manifest.parent.mkdir(parents=True, exist_ok=True)
        with self.manifest.open("a") as out:
            try:
                while accepted < self.query.limit:
                    items = self._call(lambda n=page: results.get_page(n))
                    pages += 1
                    for repo in items:
                        if repo.full_name in seen or accepted >= self.query.limit:
                            continue
                        try:
                            candidate = self._judge(repo, trees)
                        except GithubException as exc:  # e.g. 409 for an empty repository
                            candidate = self._api_error(repo, exc)
                        seen.add(repo.full_name)
                        if candidate.decision == "accepted":
                            accepted += 1
                            if candidate.tree:
                                trees[candidate.tree] = candidate.full_name
                        else:
                            rejected += 1
                        out.write(candidate.model_dump_json() + "\n")
                        out.flush()
                    page += 1
                    if not items or page * self.per_page >= min(results.totalCount or 0, SEARCH_RESULT_CAP):
                        break
            except _RateLimited as stop:
                cursor = MineCursor(query=q, next_page=page, reset_at=stop.reset_at)
                cursor_file.write_text(cursor.model_dump_json(indent=2) + "\n")
                return MineReport(
                    query=q,
                    manifest=self.manifest,
                    accepted=accepted,
                    rejected=rejected,
                    pages=pages,
                    complete=False,
                    cursor=cursor,
                )
        cursor_file.unlink(missing_ok=True)
        return MineReport(
            query=q, manifest=self.manifest, accepted=accepted, rejected=rejected, pages=pages, complete=True
        )

    def _api_error(self, repo: Repository, exc: GithubException) -> Candidate:
        message = exc.data.get("message") if isinstance(exc.data, dict) else exc.data
        return Candidate(
            full_name=repo.full_name,
            clone_url=repo.clone_url,
            default_branch=repo.default_branch,
            language=repo.language,
            decision="rejected",
            reason=f"the API answered {exc.status}: {message}",
        )

    def _judge(self, repo: Repository, trees: dict[str, str]) -> Candidate:
        query = self.query
        api_license = repo.license.spdx_id if repo.license else None
        candidate = Candidate(
            full_name=repo.full_name,
            clone_url=repo.clone_url,
            default_branch=repo.default_branch,
            license=api_license,
            language=repo.language,
            stars=repo.stargazers_count,
            size_kb=repo.size,
            decision="rejected",
            reason="",
        )

        def reject(reason: str) -> Candidate:
            return candidate.model_copy(update={"reason": reason})

        if repo.fork:
            return reject("a fork")
        if repo.archived:
            return reject("archived")
        if repo.is_template:
            return reject("a template repository")
        if query.language and (repo.language or "").lower() != query.language.lower():
            return reject(f"language is {repo.language}, not {query.language}")
        if repo.stargazers_count < query.min_stars:
            return reject(f"{repo.stargazers_count} stars, fewer than {query.min_stars}")
        if query.pushed_after and repo.pushed_at and repo.pushed_at.date() < query.pushed_after:
            return reject(f"last pushed {repo.pushed_at.date()}, before {query.pushed_after}")
        if query.max_size_kb is not None and repo.size > query.max_size_kb:
            return reject(f"{repo.size} KiB, larger than {query.max_size_kb} KiB")
        if (api_license or "").upper() != query.license.upper():
            return reject(f"the API reports license {api_license}, not {query.license}")

        head = self._call(lambda: repo.get_commit(repo.default_branch))
        candidate.commit, candidate.tree = head.sha, head.commit.tree.sha
        if candidate.tree in trees:
            return reject(f"same tree as {trees[candidate.tree]}")

        root = self._call(lambda: repo.get_contents("", ref=head.sha))
        files = {e.name: e for e in (root if isinstance(root, list) else [root]) if e.type == "file"}

        def text(name: str) -> str:
            content = self._call(lambda: repo.get_contents(files[name].path, ref=head.sha))
            return content.decoded_content.decode(errors="replace")

        licenses = {name: text(name) for name in files if LICENSE_FILE_RE.match(name)}
        manifests = {name: text(name) for name in manifest_files() if name in files}
        verdict = license_verdict(licenses, declared_licenses(manifests), (query.license,))
        candidate.framework_hints = framework_hints(manifests)
        if verdict.spdx_id:
            candidate.license = verdict.spdx_id
        if not verdict.accepted:
            return reject(f"the API reports {api_license} but {verdict.reason}")
        return candidate.model_copy(update={"decision": "accepted", "reason": verdict.reason})
