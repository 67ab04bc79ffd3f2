"""What every framework module provides.

Framework knowledge lives in one module per framework, in its language's folder
(languages/python/flask.py, languages/javascript/express.py, ...). The core only talks to
this interface, never `if framework == ...`.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from pathlib import Path

from pydantic import BaseModel, Field

from pipeline.languages import query_params
from pipeline.models import BodyField, CannedAnswer, Endpoint, Handler


class ServiceCandidate(BaseModel):
    """A service root that a framework module claims."""

    root: Path = Field(description="absolute path of the service root")
    entrypoint: str | None = Field(
        default=None, description="the module or file that creates the app, relative to root"
    )


class RuntimeHints(BaseModel):
    """What the Dockerfile template of the language needs from the framework."""

    start_command: list[str] = Field(description="argv that starts the service on 0.0.0.0:port")
    port: int
    extra_packages: list[str] = Field(
        default_factory=list, description="dependencies the start command needs beyond the manifest"
    )
    env: dict[str, str] = Field(default_factory=dict, description="env vars the code requires")
    setup_commands: list[str] = Field(
        default_factory=list,
        description="build-time commands after the source is copied, e.g. migrating a SQLite database "
        "(the environment stage detects the common ones itself when this is empty)",
    )


def canned_json(answer: CannedAnswer) -> str | None:
    """A canned answer's body as JSON text (ASCII, so it is a string literal's content in
    every language's source), or None for an empty body."""
    return None if answer.json_body is None else json.dumps(answer.json_body, ensure_ascii=True)


class Framework(ABC):
    #: short id used in metadata and tags, e.g. "flask"
    name: str
    #: "python", "javascript", ...
    language: str
    #: dependency names (lower case) in a repository's root manifests that point to this
    #: framework: hints for mining and `regenerate --framework`, never proof
    dependency_names: tuple[str, ...] = ()
    #: whether stand_in_body answers a CannedAnswer's `echo` (the request's own body back);
    #: the strength gate skips its `echo` stand-in for a framework that does not
    echoes: bool = False
    #: how this framework's handlers read a query parameter (languages/query_params.py);
    #: a framework that declares them in the handler's signature overrides query_fields
    query_readers: tuple[query_params.QueryReader, ...] = ()

    @abstractmethod
    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        """Every service root in the repository that uses this framework."""

    @abstractmethod
    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        """Endpoints of one service, with full paths and handler byte ranges.

        File paths in the returned Handlers are relative to repo_root.
        """

    def query_fields(self, repo_root: Path, endpoint: Endpoint) -> list[BodyField]:
        """The query parameters the endpoint's handler reads (explore asks when discovery
        found none): the framework's readers over the handler's source."""
        if not self.query_readers or endpoint.handler.end_byte <= endpoint.handler.start_byte:
            return []
        try:
            source = (repo_root / endpoint.handler.file).read_bytes()
        except OSError:
            return []
        text = source[endpoint.handler.start_byte : endpoint.handler.end_byte].decode("utf-8", "replace")
        return query_params.read(text, self.query_readers)

    @abstractmethod
    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        """How to start the service inside a container."""

    @abstractmethod
    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        """The file's source with the handler's body replaced by "not implemented".

        The replacement answers HTTP 501, so the service still starts and routes.
        """

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        """The file's source with the handler's body replaced by a canned `answer`.

        The strength gate's stand-in solutions (stages/stand_ins.py) are masks that answer
        something plausible instead of 501: a weak agent's guess that never reads the
        code. A framework that does not override this has no stand-ins; the gate skips
        them for its tasks and says so in metadata.json. `answer.echo` (only asked of a
        framework whose `echoes` is set) answers the request's own body with the status.
        The replaced span is the one mask_body replaces, so it builds wherever the mask does.
        """
        raise NotImplementedError(f"{self.name} has no stand-in answers")

    @property
    def supports_stand_ins(self) -> bool:
        return type(self).stand_in_body is not Framework.stand_in_body

    def finish_masked_file(self, rel: str, original: bytes, masked: bytes) -> bytes:
        """A masked file after the fix-ups its language needs to still build.

        Called once per file, after every body in it was masked (e.g. Go drops the imports
        the masked bodies no longer use). The default changes nothing.
        """
        return masked

    def finish_masked_tree(self, tree: Path, masked_files: list[str]) -> None:
        """Project-level fix-ups after masking (e.g. TypeScript's unused-name checks).

        The solution patch is taken afterwards, so it restores whatever this changes.
        The default changes nothing.
        """
        return None
