"""Django and Django REST framework: URLconfs, views, viewsets and routers, and masking.

How the service is found: a `manage.py` (or `wsgi.py`/`asgi.py`) that sets
DJANGO_SETTINGS_MODULE, or a `settings.py` with ROOT_URLCONF in a folder whose manifest
declares Django. The settings module named there (following `from .base import *`) gives
ROOT_URLCONF; its `urlpatterns` are walked from the top, through `include()` of module
strings, imported modules, pattern lists and `(patterns, app_name)` tuples.

Choices, kept the same in every ground truth:

- Paths are Django's own concatenation of the route strings with a leading "/" and the
  trailing slash kept: "/api/books/<int:pk>/". `re_path()`/`url()` regexes keep their text
  minus the "^"/"$" anchors, and an optional final slash "/?" written "/":
  "/api/search/(?P<term>[\\w-]+)/". A computed include() prefix (settings.BASE_PATH) counts as "".
- DRF routers expand to the routes of SimpleRouter: "<prefix>/" (list, create), the
  `@action(detail=False)` routes, "<prefix>/<lookup>/" (retrieve, update, partial_update,
  destroy) and the `@action(detail=True)` routes, each only for the actions the viewset
  has. The lookup is written `<name>` with the viewset's `lookup_url_kwarg`/`lookup_field`
  (default `pk`), whatever its regex. DefaultRouter's API-root view and the format-suffix
  duplicates (`.json`) are NOT reported: they are library code, not the repository's.
  drf-nested-routers' Nested*Router adds "<parent>/<lookup_parent-lookup>/" in front.
- Library views (admin.site.urls, `include("django.contrib.auth.urls")`, a bare
  `TemplateView.as_view(...)`) are not reported: there is no handler in the repository.
- Methods: `@api_view([...])`, `@require_http_methods([...])`, `@require_GET/POST/safe`;
  otherwise the methods a plain function compares `request.method` with (plus GET when the
  function falls through to a response without answering 405); otherwise ANY. Class-based
  views answer the handler methods they define or inherit (get/post/put/patch/delete).
- Handler: the method that runs (a view's `get`, a viewset's `destroy`, an `@action`); when
  the action is inherited from a library class (ModelViewSet's `list`, ListCreateAPIView's
  `post`) the handler is the view class itself (range = class definition, body = the class
  body up to the first method's body, so that it never encloses another masked body).
  Masking such a class inserts overrides at the top of its body that answer 501 for the
  inherited actions, keeping every attribute (queryset, serializer_class ...) and every
  method the class defines (its own handlers are masked as handlers of their own).

The URLconf walk lives in django_urls.py and what each view answers in django_views.py;
this module holds the framework itself: detection, settings, masking and runtime hints.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.languages.python.django_urls import _UrlWalker
from pipeline.languages.python.django_views import _GENERIC_VIEWS, _VIEWSET_ACTIONS, _last
from pipeline.languages.python.handlers import mask_function_body
from pipeline.languages.python.project import (
    LANGUAGE,
    PyModule,
    PyProject,
    class_functions,
    declares,
    is_test_path,
    iter_python_files,
    service_root_for,
)
from pipeline.languages.python.request_query import QUERY_READERS
from pipeline.languages.python.runtime import required_env
from pipeline.languages.python.syntax import call_args, string_value
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

DEFAULT_PORT = 8000
_ENTRY_FILES = ("manage.py", "wsgi.py", "asgi.py", "settings.py")
_SETTINGS_RE = re.compile(rb"""DJANGO_SETTINGS_MODULE['"]\s*\]?\s*[,=]\s*['"]([\w.]+)['"]""")
_PORT_RE = re.compile(r"(?:runserver\s+(?:[\w.]+:)?|--bind[\s=]+[\w.]*:|-b\s+[\w.]*:)(\d{2,5})\b")
_NOT_IMPLEMENTED = [
    "import django.http",
    'return django.http.JsonResponse({"detail": "Not implemented"}, status=501)',
]
_ENV_SPECIAL = {
    "DATABASE_URL": "sqlite:///db.sqlite3",
    "CACHE_URL": "locmem://",
    "EMAIL_URL": "consolemail://",
    "REDIS_URL": "redis://localhost:6379/0",
    "CELERY_BROKER_URL": "memory://",
}


# --------------------------------------------------------------------------- masking


def _node_starting_at(root: Node, start: int, type_: str) -> Node | None:
    """The node of `type_` that starts at `start` (its end may have moved: inner masks ran first)."""
    current: Node | None = root
    while current is not None:
        if current.start_byte == start and current.type == type_:
            return current
        current = next((c for c in current.children if c.start_byte <= start < c.end_byte), None)
    return None


def _inherited_names(cls: Node, classes: dict[str, Node], seen: set[str]) -> set[str]:
    """The handler methods a class's library bases bring.

    Only this file is known at masking time: same-file bases are followed, library bases
    looked up by name, other bases contribute nothing.
    """
    names: set[str] = set()
    bases = cls.child_by_field_name("superclasses")
    for base in bases.named_children if bases is not None else []:
        if base.type == "keyword_argument":
            continue
        simple = _last(base)
        if simple in _VIEWSET_ACTIONS or simple in _GENERIC_VIEWS:
            names.update(_VIEWSET_ACTIONS.get(simple, ()))
            names.update(_GENERIC_VIEWS.get(simple, {}).values())
        elif base.type == "identifier" and simple in classes and simple not in seen:
            seen.add(simple)
            names |= _inherited_names(classes[simple], classes, seen)
    return names


def mask_class(source: bytes, cls: Node, handler: Handler, statements: list[str] | None = None) -> bytes:
    """Answer 501 (or `statements`) for the actions a view class inherits, by overriding them
    at the top of its body."""
    statements = statements or _NOT_IMPLEMENTED
    root = cls
    while root.parent is not None:
        root = root.parent
    classes = {ts.text(c.child_by_field_name("name")): c for c in ts.find_all(root, "class_definition") if c is not cls}
    own = {ts.text(f.child_by_field_name("name")) for f, _ in class_functions(cls)}
    names = sorted(_inherited_names(cls, classes, {handler.name}) - own)
    if not names:
        # The inherited handlers come from a base in another file: refuse every request instead.
        names = ["dispatch"]
    block = cls.child_by_field_name("body")
    if block is None:
        raise ValueError(f"no class body for {handler.file}:{handler.name}")
    lines: list[str] = []
    for name in names:
        lines += [f"def {name}(self, request, *args, **kwargs):"] + [f"    {s}" for s in statements] + [""]
    statements = [c for c in block.named_children if c.type != "comment"]
    first = statements[0] if statements else None
    docstring = (
        first is not None
        and first.type == "expression_statement"
        and len(first.named_children) == 1
        and first.named_children[0].type in ("string", "concatenated_string")
    )
    colon = next((c for c in cls.children if c.type == ":"), None)
    one_line = colon is not None and colon.end_point[0] == block.start_point[0]
    # `class V(ModelViewSet): queryset = ...` on one line: the body moves to its own lines.
    indent = ts.line_indent(source, cls.start_byte) + b"    " if one_line else ts.line_indent(source, block.start_byte)
    rendered = b"\n".join(indent + line.encode() if line else b"" for line in lines)
    if one_line:
        assert colon is not None
        masked = ts.replace(source, colon.end_byte, block.start_byte, b"\n" + rendered + b"\n" + indent)
    elif docstring and len(statements) == 1:
        assert first is not None
        masked = ts.replace(source, first.end_byte, first.end_byte, b"\n\n" + rendered.rstrip())
    else:
        at = statements[1] if docstring else statements[0] if statements else block
        masked = ts.replace(source, at.start_byte, at.start_byte, rendered[len(indent) :] + b"\n" + indent)
    return ts.check_reparses(masked, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- environment


def _config_env(files: list[ts.SourceFile]) -> dict[str, str]:
    """Variables read through python-decouple's `config()` or django-environ's `env()` without a default."""
    out: dict[str, str] = {}
    for sf in files:
        if b"decouple" not in sf.source and b"environ" not in sf.source:
            continue
        for call in ts.find_all(sf.root, "call"):
            fn = ts.text(call.child_by_field_name("function"))
            parts = fn.split(".")
            positional, keywords = call_args(call)
            kind = ""
            if fn in ("config", "decouple.config"):
                kind = "decouple"
            elif parts[0] == "env" and len(parts) <= 2:
                kind = "environ"
            if not kind or "default" in keywords:
                continue
            cast = parts[1] if len(parts) == 2 else ts.text(keywords.get("cast"))
            if kind == "decouple" and len(positional) > 1:
                continue  # config("X", "fallback"): the second positional is the default
            if kind == "environ" and len(parts) == 2 and len(positional) > 1:
                continue  # env.str("X", "fallback")
            if kind == "environ" and len(parts) == 1 and len(positional) > 2:
                continue  # env("X", cast, default)
            name = string_value(positional[0]) if positional else None
            if name is None and cast in ("db", "db_url"):
                name = "DATABASE_URL"
            elif name is None and cast in ("cache", "cache_url"):
                name = "CACHE_URL"
            elif name is None and cast in ("email", "email_url"):
                name = "EMAIL_URL"
            if not name:
                continue
            if cast == "bool":
                value = "True" if "DEBUG" in name else "False"
            elif cast in ("int", "float"):
                value = "1"
            else:
                value = f"dummy-{name}"
            out.setdefault(name, value)
    return out


def _safe_env(env: dict[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in env.items():
        if name.startswith("DJANGO_SETTINGS_MODULE"):
            continue
        if name in _ENV_SPECIAL:
            value = _ENV_SPECIAL[name]
        elif "ALLOWED_HOSTS" in name:
            value = "*"
        elif "SECRET_KEY" in name:
            value = f"dummy-{name.lower()}-for-local-runs-only-0123456789abcdef"
        out[name] = value
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- framework


class DjangoFramework(Framework):
    name = "django"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = (
        "django",
        "djangorestframework",
    )
    language = "python"
    query_readers = QUERY_READERS

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        found: dict[Path, list[tuple[int, int, str]]] = {}
        for path, rel, content in ts.iter_files(repo_root, repo_root, lambda n: n in _ENTRY_FILES):
            if is_test_path(rel):
                continue
            if path.name == "settings.py":
                if re.search(rb"^ROOT_URLCONF\s*=", content, re.MULTILINE) is None:
                    continue
            elif _SETTINGS_RE.search(content) is None:
                continue
            root = service_root_for(path, repo_root)
            if not declares(root, "django"):
                if path.name != "manage.py":
                    continue
                root = path.parent  # manage.py itself says Django; no manifest does
            entry = path.relative_to(root).as_posix()
            found.setdefault(root, []).append((_ENTRY_FILES.index(path.name), entry.count("/"), entry))
        return [
            ServiceCandidate(root=root, entrypoint=sorted(entries)[0][2]) for root, entries in sorted(found.items())
        ]

    # ------------------------------------------------------------------ settings

    def _settings(self, project: PyProject, walker: _UrlWalker, root: Path, entry: str | None) -> PyModule | None:
        if entry is None:
            return None
        path = root / entry
        if path.name == "settings.py":
            return project.modules.get(path.relative_to(project.repo_root).as_posix())
        try:
            match = _SETTINGS_RE.search(path.read_bytes())
        except OSError:
            return None
        return walker.module_by_dotted(match.group(1).decode()) if match else None

    def _root_urlconf(self, project: PyProject, walker: _UrlWalker, settings: PyModule | None) -> PyModule | None:
        seen: set[str] = set()
        pending = [settings] if settings is not None else []
        while pending:
            mod = pending.pop(0)
            if mod.rel in seen:
                continue
            seen.add(mod.rel)
            for name, value in mod.assignments:
                if name == "ROOT_URLCONF" and (dotted := string_value(value)):
                    return walker.module_by_dotted(dotted)
            # `from .base import *`: ROOT_URLCONF usually lives in the shared settings.
            for node in ts.find_all(mod.sf.root, "import_from_statement"):
                if not any(c.type == "wildcard_import" for c in node.children):
                    continue
                module_node = node.child_by_field_name("module_name")
                level, dotted = 0, ts.text(module_node)
                if module_node is not None and module_node.type == "relative_import":
                    level = len(ts.text(next((c for c in module_node.children if c.type == "import_prefix"), None)))
                    dotted = ts.text(next((c for c in module_node.children if c.type == "dotted_name"), None))
                base = project.locate(mod, level, dotted)
                target = project.module_at(base) if base is not None else None
                if target is not None:
                    pending.append(target)
        # No settings found, or ROOT_URLCONF set elsewhere: any module that sets it.
        for rel in sorted(project.modules):
            for name, value in project.modules[rel].assignments:
                if name == "ROOT_URLCONF" and (dotted := string_value(value)):
                    found = walker.module_by_dotted(dotted)
                    if found is not None:
                        return found
        if settings is not None:
            return project.module_at(settings.path.parent / "urls")
        return None

    # ------------------------------------------------------------------ discover

    def _search_roots(self, root: Path, service: ServiceCandidate) -> list[Path]:
        # manage.py's folder is sys.path[0] when Django runs; the service root and src/ are fallbacks.
        entry = service.entrypoint or "manage.py"
        entry_dir = (root / entry).parent if entry.endswith("manage.py") else root
        return list(dict.fromkeys([entry_dir, root, root / "src"]))

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        project = PyProject(repo_root, root)
        walker = _UrlWalker(project, self._search_roots(root, service))
        urlconf = self._root_urlconf(project, walker, self._settings(project, walker, root, service.entrypoint))
        if urlconf is None:
            log.warning("django service at %s: no ROOT_URLCONF found", root)
            return []
        endpoints: dict[tuple[str, str], Endpoint] = {}
        walker.expand(walker.var_items(urlconf.rel, "urlpatterns"), "", endpoints)
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        files = list(iter_python_files(root, repo_root))
        port = self._configured_port(root) or DEFAULT_PORT
        entry = service.entrypoint or "manage.py"
        manage = entry if entry.endswith("manage.py") else None
        command = ["python", manage or "manage.py", "runserver", f"0.0.0.0:{port}", "--noreload"]
        wsgi = self._wsgi_application(files)
        if wsgi is not None and (manage is None or declares(root, "gunicorn")):
            command = ["python", "-m", "gunicorn", wsgi, "--bind", f"0.0.0.0:{port}"]
            # gunicorn imports the module from its working folder: where that module lives.
            module = Path(*wsgi.split(":")[0].split("."))
            roots = self._search_roots(root, service)
            home = next((d for d in roots if (d / module.with_suffix(".py")).is_file()), roots[0])
            if home != root:
                command += ["--chdir", home.relative_to(root).as_posix()]
        extra = [] if declares(root, "django") else ["django"]
        if command[2] == "gunicorn" and not declares(root, "gunicorn"):
            extra.append("gunicorn")
        env = {**required_env(files), **_config_env(files)}
        return RuntimeHints(start_command=command, port=port, extra_packages=extra, env=_safe_env(env))

    @staticmethod
    def _wsgi_application(files: list[ts.SourceFile]) -> str | None:
        """`config.wsgi.application` from WSGI_APPLICATION, as gunicorn's `config.wsgi:application`."""
        for sf in files:
            if b"WSGI_APPLICATION" not in sf.source:
                continue
            for node in ts.find_all(sf.root, "assignment"):
                if ts.text(node.child_by_field_name("left")) == "WSGI_APPLICATION":
                    value = string_value(node.child_by_field_name("right"))
                    if value and "." in value:
                        module, _, attr = value.rpartition(".")
                        return f"{module}:{attr}"
        return None

    @staticmethod
    def _configured_port(root: Path) -> int | None:
        for name in ("Procfile", "docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"):
            path = root / name
            try:
                if not path.is_file() or path.stat().st_size > ts.MAX_FILE_BYTES:
                    continue
                match = _PORT_RE.search(path.read_text(errors="replace"))
            except OSError:
                continue
            if match and 0 < int(match.group(1)) < 65536:
                return int(match.group(1))
        return None

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        tree = ts.parse(source, LANGUAGE)
        cls = _node_starting_at(tree.root_node, handler.start_byte, "class_definition")
        if cls is not None and ts.text(cls.child_by_field_name("name")) == handler.name:
            return mask_class(source, cls, handler)
        return mask_function_body(source, handler, _NOT_IMPLEMENTED)

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        text = canned_json(answer)
        statements = [
            "import django.http",
            f"return django.http.HttpResponse({text or ''!r}, status={answer.status}, content_type='application/json')",
        ]
        tree = ts.parse(source, LANGUAGE)
        cls = _node_starting_at(tree.root_node, handler.start_byte, "class_definition")
        if cls is not None and ts.text(cls.child_by_field_name("name")) == handler.name:
            return mask_class(source, cls, handler, statements)
        return mask_function_body(source, handler, statements)
