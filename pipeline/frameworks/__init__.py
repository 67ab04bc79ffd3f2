"""The framework registry: every supported framework, one module each."""

from __future__ import annotations

from pipeline.frameworks.actix import ActixFramework
from pipeline.frameworks.aspnetcore import AspNetCoreFramework
from pipeline.frameworks.axum import AxumFramework
from pipeline.frameworks.base import Framework
from pipeline.frameworks.chi import ChiFramework
from pipeline.frameworks.django import DjangoFramework
from pipeline.frameworks.echo import EchoFramework
from pipeline.frameworks.express import ExpressFramework
from pipeline.frameworks.fastapi import FastAPIFramework
from pipeline.frameworks.fastify import FastifyFramework
from pipeline.frameworks.flask import FlaskFramework
from pipeline.frameworks.gin import GinFramework
from pipeline.frameworks.koa import KoaFramework
from pipeline.frameworks.laravel import LaravelFramework
from pipeline.frameworks.nestjs import NestJSFramework
from pipeline.frameworks.nethttp import NetHttpFramework
from pipeline.frameworks.rails import RailsFramework
from pipeline.frameworks.sinatra import SinatraFramework
from pipeline.frameworks.slim import SlimFramework
from pipeline.frameworks.spring import SpringFramework
from pipeline.frameworks.symfony import SymfonyFramework

#: One instance per framework; adding a framework is adding its module and a line here.
#: Order matters where two frameworks could claim one service root: the more specific
#: framework comes first (NestJS before Express, Gin/Echo/Chi before plain net/http).
FRAMEWORKS: list[Framework] = [
    FlaskFramework(),
    FastAPIFramework(),
    DjangoFramework(),
    NestJSFramework(),
    ExpressFramework(),
    KoaFramework(),
    FastifyFramework(),
    GinFramework(),
    EchoFramework(),
    ChiFramework(),
    NetHttpFramework(),
    SpringFramework(),
    AspNetCoreFramework(),
    RailsFramework(),
    SinatraFramework(),
    LaravelFramework(),
    SymfonyFramework(),
    SlimFramework(),
    AxumFramework(),
    ActixFramework(),
]


def get_framework(name: str) -> Framework:
    for framework in FRAMEWORKS:
        if framework.name == name:
            return framework
    known = ", ".join(f.name for f in FRAMEWORKS)
    raise KeyError(f"unknown framework {name!r}; known frameworks: {known}")


__all__ = ["FRAMEWORKS", "Framework", "get_framework"]
