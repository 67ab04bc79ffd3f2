"""PLACEHOLDER: gin discovery is being written; until then it claims no service."""

from __future__ import annotations

from pathlib import Path

from pipeline.frameworks.base import Framework, RuntimeHints, ServiceCandidate
from pipeline.models import Endpoint, Handler


class GinFramework(Framework):
    name = "gin"
    language = "go"

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        return []

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        raise NotImplementedError

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        raise NotImplementedError

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        raise NotImplementedError
