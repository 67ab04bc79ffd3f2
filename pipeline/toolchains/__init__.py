"""Per-language toolchain detection: one module per language, one `detect` each."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from pipeline.toolchains import csharp, go, java, javascript, php, python, ruby, rust
from pipeline.toolchains.base import Toolchain

#: language (as Service.language says it) -> its module (detect, image, STAND_IN, OFFICIAL)
MODULES: dict[str, ModuleType] = {
    "python": python,
    "javascript": javascript,
    "typescript": javascript,
    "go": go,
    "java": java,
    "csharp": csharp,
    "ruby": ruby,
    "php": php,
    "rust": rust,
}


def detect(language: str, root: Path, *, offline: bool, entrypoint: str | None = None) -> Toolchain:
    """The toolchain of the service at `root`; KeyError for a language without a module."""
    return MODULES[language].detect(root, offline=offline, entrypoint=entrypoint)


def image_for(language: str, version: str) -> str | None:
    """The official image of the language at `version` (major.minor), None when the
    language's images are not named by version this way (C#)."""
    module = MODULES.get(language)
    if module is None or not hasattr(module, "image"):
        return None
    return module.image(version)


def stand_in_image(language: str) -> str | None:
    """The image name a local stand-in exists for (docker/base), None when there is none."""
    module = MODULES.get(language)
    if module is None or not hasattr(module, "STAND_IN") or not hasattr(module, "image"):
        return None
    return module.image(module.STAND_IN)


__all__ = ["MODULES", "Toolchain", "detect", "image_for", "stand_in_image"]
