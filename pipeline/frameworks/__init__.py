"""The framework registry: every supported framework, one module each."""

from __future__ import annotations

from pipeline.frameworks.base import Framework
from pipeline.frameworks.express import ExpressFramework
from pipeline.frameworks.fastapi import FastAPIFramework
from pipeline.frameworks.flask import FlaskFramework

#: One instance per framework; adding a framework is adding its module and a line here.
FRAMEWORKS: list[Framework] = [FlaskFramework(), FastAPIFramework(), ExpressFramework()]


def get_framework(name: str) -> Framework:
    for framework in FRAMEWORKS:
        if framework.name == name:
            return framework
    known = ", ".join(f.name for f in FRAMEWORKS)
    raise KeyError(f"unknown framework {name!r}; known frameworks: {known}")


__all__ = ["FRAMEWORKS", "Framework", "get_framework"]
