"""Static discovery for Django / DRF, and the Flask and FastAPI class-view and mount gaps."""

from __future__ import annotations

import logging
import shutil
import textwrap
from pathlib import Path

import discovery_support as ds
import pytest

from pipeline.config import Settings
from pipeline.gitutil import commit_all
from pipeline.languages import FRAMEWORKS, get_framework
from pipeline.languages import treesitter as ts
from pipeline.models import Endpoint, Handler, RepoSnapshot
from pipeline.stages import explore as explore_stage
from pipeline.stages.mask import mask_group

FIXTURES = ds.FIXTURES
DJANGO_FIXTURE = FIXTURES / "django_library"
DECOYS = {"legacy_ping", "export_books", "ArchiveViewSet", "LegacyProfileView"}
NOT_IMPLEMENTED = 'return django.http.JsonResponse({"detail": "Not implemented"}, status=501)'

django = get_framework("django")


# --------------------------------------------------------------------------- the fixture


def test_detect_fixture_and_exclusivity() -> None:
    ds.assert_detects_only("django", DJANGO_FIXTURE, "manage.py")
    for fixture in ("flask_todo", "fastapi_notes", "express_books"):
        assert django.detect(FIXTURES / fixture) == [], fixture


def test_discover_matches_ground_truth() -> None:
    endpoints, truth = ds.assert_matches_ground_truth(django, DJANGO_FIXTURE)
    assert len(truth) == 19
    # precision and recall on normalized paths, as the pipeline compares them
    truth_keys = {
        (t["method"], Endpoint(method="GET", path=t["path"], handler=endpoints[0].handler).normalized_path)
        for t in truth
    }
    assert {(e.method, e.normalized_path) for e in endpoints} == truth_keys


def test_handlers_resolve_across_files_and_slice_to_definitions() -> None:
    endpoints = ds.discover(django, DJANGO_FIXTURE)
    by_key = ds.by_key(endpoints)
    assert by_key[("GET", "/health/")].file == "library/views.py"
    assert by_key[("POST", "/accounts/profile/")].file == "accounts/views.py"
    assert by_key[("GET", "/api/books/")].file == "catalog/views.py"
    for endpoint in endpoints:
        handler = endpoint.handler
        _, definition, _, body = ds.handler_slices(DJANGO_FIXTURE, handler)
        if handler.name[0].isupper():
            # a class: its body up to the first method's body, which is masked on its own
            assert definition.startswith(f"class {handler.name}(")
            assert body.startswith(('"""', "queryset = ")) and "queryset = " in body
            assert "return " not in body
        else:
            assert definition.endswith(body)
            assert definition.startswith(f"def {handler.name}(")
            assert not body.startswith("def ")
    book = by_key[("GET", "/api/books/")]
    book_source = (DJANGO_FIXTURE / book.file).read_bytes()
    assert (
        book_source[book.body_start_byte : book.body_end_byte]
        .decode()
        .endswith("    def destroy(self, request, *args, **kwargs):\n        ")
    )
    reviews = by_key[("GET", "/api/reviews/")]
    assert book_source[reviews.body_start_byte : reviews.body_end_byte] == (
        b'queryset = Review.objects.all().order_by("id")\n    serializer_class = ReviewSerializer'
    )
    destroy = by_key[("DELETE", "/api/books/<pk>/")]
    assert (
        (DJANGO_FIXTURE / destroy.file).read_bytes()[destroy.body_start_byte :].startswith(b"book = self.get_object()")
    )


def test_decoys_and_library_routes_are_not_reported() -> None:
    endpoints = ds.discover(django, DJANGO_FIXTURE)
    assert not {e.handler.name for e in endpoints} & DECOYS
    paths = {e.path for e in endpoints}
    assert not any(p.startswith("/admin") for p in paths)
    assert "/api/" not in paths  # DefaultRouter's API root view
    assert not any("format" in p for p in paths)
    assert ("DELETE", "/api/authors/<slug>/") not in {(e.method, e.path) for e in endpoints}


def test_body_fields() -> None:
    endpoints = ds.discover(django, DJANGO_FIXTURE)
    profile = next(e for e in endpoints if (e.method, e.path) == ("POST", "/accounts/profile/"))
    assert [(f.name, f.type, f.required) for f in profile.body_fields] == [("first_name", "str", False)]


def test_runtime_hints_of_fixture() -> None:
    hints = django.runtime_hints(DJANGO_FIXTURE, ds.service_of(django, DJANGO_FIXTURE))
    assert hints.start_command == ["python", "manage.py", "runserver", "0.0.0.0:8000", "--noreload"]
    assert hints.port == 8000
    assert hints.extra_packages == []
    assert hints.env == {"DJANGO_SECRET_KEY": "dummy-django_secret_key-for-local-runs-only-0123456789abcdef"}


# --------------------------------------------------------------------------- masking


def test_mask_function_and_method_handlers_keep_signature() -> None:
    endpoints = ds.discover(django, DJANGO_FIXTURE)
    for endpoint in endpoints:
        handler = endpoint.handler
        source, masked = ds.mask_handler(django, DJANGO_FIXTURE, handler, "python")
        assert masked.startswith(source[: handler.start_byte])
        assert masked.endswith(source[handler.end_byte :])
        if not handler.name[0].isupper():
            header = source[handler.start_byte : handler.body_start_byte]
            assert masked[handler.start_byte :].startswith(header)
            assert NOT_IMPLEMENTED.encode() in masked[handler.start_byte :]


def test_mask_inherited_actions_override_them_in_the_class() -> None:
    masked = ds.mask_all(django, DJANGO_FIXTURE, ds.discover(django, DJANGO_FIXTURE))["catalog/views.py"].decode()
    ds.assert_parses(masked.encode(), "python")
    book = masked[masked.index("class BookViewSet(") : masked.index("class AuthorViewSet(")]
    # the inherited actions answer 501; attributes and the own methods stay (masked themselves)
    for action in ("create", "list", "partial_update", "retrieve", "update"):
        assert f"    def {action}(self, request, *args, **kwargs):\n        import django.http\n" in book
    assert book.count("def destroy(") == 1
    assert 'queryset = Book.objects.all().order_by("id")' in book
    assert '@action(detail=True, methods=["post"], url_path="checkout")' in book
    assert book.count(NOT_IMPLEMENTED) == 8
    author = masked[masked.index("class AuthorViewSet(") : masked.index("class ArchiveViewSet(")]
    assert "def list(" in author and "def retrieve(" in author and "def destroy(" not in author
    assert 'lookup_field = "slug"' in author
    reviews = masked[masked.index("class ReviewListCreate(") : masked.index("class ReviewDetail(")]
    assert "def list(" in reviews and "def create(" in reviews and "def get(" not in reviews
    detail = masked[masked.index("class ReviewDetail(") : masked.index("def search_books(")]
    # GET is inherited (retrieve); DELETE is the class's own `delete`, masked on its own
    assert "def retrieve(" in detail and "def destroy(" in detail and detail.count("def delete(") == 1
    archive = masked[masked.index("class ArchiveViewSet(") : masked.index("class ReviewListCreate(")]
    assert "Not implemented" not in archive  # a decoy is left alone


def test_mask_stage_masks_a_viewset_with_inherited_and_own_actions(tmp_path: Path) -> None:
    """Through the real explore and mask stages: the class and its own methods are both masked."""
    tree = tmp_path / "repo"
    shutil.copytree(DJANGO_FIXTURE, tree)
    commit_all(tree, "original")
    snapshot = RepoSnapshot(path=tree, commit="test", origin=str(tree), owner="local", name="repo")
    inventory = explore_stage.explore(snapshot, Settings())
    group = next(g for g in inventory.groups if any(e.path == "/api/books/" for e in g.endpoints))
    result = mask_group(tree, group, "django")
    assert {"catalog/views.py:BookViewSet", "catalog/views.py:destroy", "catalog/views.py:checkout"} <= set(
        result.masked_symbols
    )
    masked = (tree / "catalog" / "views.py").read_text()
    book = masked[masked.index("class BookViewSet(") : masked.index("class AuthorViewSet(")]
    assert "    def list(self, request, *args, **kwargs):\n" in book
    assert book.count(NOT_IMPLEMENTED) == 8
    assert "+class BookViewSet(" not in result.solution_patch and "-    def list(self" in result.solution_patch


def test_mask_class_shapes(tmp_path: Path) -> None:
    source = textwrap.dedent(
        '''
        from rest_framework import generics
        from .base import AuditedViewSet


        class OneLine(generics.ListAPIView): queryset = None


        class DocOnly(generics.RetrieveAPIView):
            """Only a docstring."""


        class Unknown(AuditedViewSet):
            serializer_class = None


        class Child(OneLine):
            pass
        '''
    ).encode()
    tree = ts.parse(source, "python")
    classes = {ts.text(c.child_by_field_name("name")): c for c in ts.find_all(tree.root_node, "class_definition")}

    def mask(name: str) -> str:
        node = classes[name]
        body = node.child_by_field_name("body")
        handler = Handler(
            file="views.py",
            name=name,
            line=node.start_point[0] + 1,
            start_byte=node.start_byte,
            end_byte=node.end_byte,
            body_start_byte=body.start_byte,
            body_end_byte=body.end_byte,
        )
        masked = django.mask_body(source, handler)
        ds.assert_parses(masked, "python")
        return masked.decode()

    one_line = mask("OneLine")
    assert "class OneLine(generics.ListAPIView):\n    def list(self, request, *args, **kwargs):\n" in one_line
    assert "\n    queryset = None\n" in one_line
    doc_only = mask("DocOnly")
    assert '"""Only a docstring."""\n\n    def retrieve(self, request, *args, **kwargs):' in doc_only
    # a base from another file: every request is refused
    assert "class Unknown(AuditedViewSet):\n    def dispatch(self, request, *args, **kwargs):" in mask("Unknown")
    # a same-file base is followed to the library view it extends
    assert "class Child(OneLine):\n    def list(self, request, *args, **kwargs):" in mask("Child")


# --------------------------------------------------------------------------- routing constructs


def _project(tmp_path: Path) -> Path:
    return ds.write_files(
        tmp_path,
        {
            "requirements.txt": "django==5.0\ndjangorestframework\ndrf-nested-routers\ngunicorn\n",
            "src/manage.py": """
                import os
                import sys

                if __name__ == "__main__":
                    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
                    from django.core.management import execute_from_command_line
                    execute_from_command_line(sys.argv)
            """,
            "src/config/__init__.py": "",
            "src/config/settings/__init__.py": "",
            "src/config/settings/base.py": """
                import environ
                from decouple import config

                env = environ.Env()
                SECRET_KEY = config("SECRET_KEY")
                DEBUG = env.bool("DEBUG")
                TIMEOUT = config("TIMEOUT", cast=int)
                OPTIONAL = config("OPTIONAL", default="x")
                ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS")
                DATABASES = {"default": env.db()}
                ROOT_URLCONF = "config.urls"
                WSGI_APPLICATION = "config.wsgi.application"
            """,
            "src/config/settings/dev.py": """
                from .base import *  # noqa

                DEBUG = True
            """,
            "src/config/urls.py": """
                from django.conf import settings
                from django.urls import include, path, re_path
                from django.views.decorators.csrf import csrf_exempt

                import shop.urls
                from shop import views as shop_views

                urlpatterns = [
                    path("shop/", include(shop.urls)),
                    re_path(r"^legacy/", include("shop.legacy_urls")),
                    path("api/v1/", include(("shop.api", "api"), namespace="v1")),
                    path("hook/", csrf_exempt(shop_views.hook)),
                    path("inline/", include([path("<slug:slug>/", shop_views.inline)])),
                    path("django-auth/", include("django.contrib.auth.urls")),
                ]
                urlpatterns += [path("extra/", shop_views.extra)]
                urlpatterns.append(path("about/", shop_views.About.as_view()))
                if settings.DEBUG:
                    urlpatterns += [path("debug/", shop_views.debug)]
            """,
            "src/shop/__init__.py": "",
            "src/shop/urls.py": """
                from django.urls import path

                from . import views
                from .views import order_list

                urlpatterns = [
                    path("orders/", order_list),
                    path("orders/<int:pk>/", views.OrderDetail.as_view()),
                    path("contact/", views.contact),
                    path("report/", views.report),
                    path("form/", views.FeedbackView.as_view()),
                    path("page/", views.Page.as_view()),
                ]
            """,
            "src/shop/legacy_urls.py": """
                from django.conf.urls import url

                from . import views

                urlpatterns = [
                    url(r"^items/(?P<item_id>[0-9]+)/$", views.legacy_item),
                ]
            """,
            "src/shop/views.py": """
                from django.http import JsonResponse
                from django.views import View
                from django.views.decorators.http import require_http_methods, require_safe
                from django.views.generic import TemplateView
                from rest_framework import generics
                from rest_framework.decorators import api_view

                from .viewsets import OrderViewSet

                order_list = OrderViewSet.as_view({"get": "list", "post": "create"})


                class OrderDetail(generics.RetrieveUpdateDestroyAPIView):
                    queryset = None


                class FeedbackView(View):
                    def post(self, request):
                        return JsonResponse({})

                    def put(self, request):
                        return JsonResponse({})


                class Page(TemplateView):
                    template_name = "page.html"


                class About(View):
                    def dispatch(self, request, *args, **kwargs):
                        return JsonResponse({})


                @api_view()
                def hook(request):
                    return JsonResponse({})


                @require_http_methods(["GET", "PATCH"])
                def inline(request, slug):
                    return JsonResponse({})


                def contact(request):
                    if request.method == "POST":
                        return JsonResponse({"sent": True})
                    return JsonResponse({})


                def report(request):
                    if request.method in ("PUT", "DELETE"):
                        return JsonResponse({})
                    return JsonResponse({}, status=405)


                @require_safe
                def legacy_item(request, item_id):
                    return JsonResponse({})


                @api_view(["GET", "POST"])
                def extra(request):
                    return JsonResponse({"name": request.data["name"]})


                def debug(request):
                    return JsonResponse({})
            """,
            "src/shop/viewsets.py": """
                from rest_framework import mixins, viewsets
                from rest_framework.decorators import action, detail_route


                class BaseReadViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
                    lookup_url_kwarg = "code"


                class OrderViewSet(mixins.CreateModelMixin, BaseReadViewSet):
                    @action(detail=True, methods=["put", "post"], url_path="set-status")
                    def set_status(self, request, code=None):
                        pass

                    @set_status.mapping.delete
                    def clear_status(self, request, code=None):
                        pass

                    @detail_route(methods=["get"])
                    def history(self, request, code=None):
                        pass


                class LineViewSet(viewsets.ViewSet):
                    def list(self, request, order_code=None):
                        pass

                    def destroy(self, request, order_code=None, pk=None):
                        pass


                class TagViewSet(viewsets.ReadOnlyModelViewSet):
                    @action(detail=False, methods=["post"])
                    def bulk(self, request):
                        pass
            """,
            "src/shop/api.py": """
                from django.conf import settings
                from rest_framework.routers import DefaultRouter, SimpleRouter
                from rest_framework_nested import routers as nested

                from .viewsets import LineViewSet, OrderViewSet, TagViewSet

                router = DefaultRouter(trailing_slash=False) if settings.DEBUG else SimpleRouter(trailing_slash=False)
                router.register(r"orders", OrderViewSet, basename="order")

                lines = nested.NestedSimpleRouter(router, r"orders", lookup="order")
                lines.register(r"lines", LineViewSet, basename="order-lines")

                tags = SimpleRouter()
                tags.register("tags", TagViewSet, basename="tag")
                router.registry.extend(tags.registry)

                urlpatterns = router.urls + lines.urls
            """,
        },
    )


def test_django_routing_constructs(tmp_path: Path) -> None:
    root = _project(tmp_path)
    service = ds.service_of(django, root)
    assert (service.root, service.entrypoint) == (root.resolve(), "src/manage.py")
    endpoints = django.discover(root, service)
    assert ds.triples(endpoints) == {
        # router.urls + lines.urls (trailing_slash=False) under an include((module, app_name)) tuple
        ("GET", "/api/v1/orders", "OrderViewSet"),
        ("POST", "/api/v1/orders", "OrderViewSet"),
        ("GET", "/api/v1/orders/<code>", "OrderViewSet"),
        ("PUT", "/api/v1/orders/<code>/set-status", "set_status"),
        ("POST", "/api/v1/orders/<code>/set-status", "set_status"),
        ("DELETE", "/api/v1/orders/<code>/set-status", "clear_status"),
        ("GET", "/api/v1/orders/<code>/history", "history"),
        # registry.extend(tags.registry): served with the outer router's (missing) slash
        ("GET", "/api/v1/tags", "TagViewSet"),
        ("POST", "/api/v1/tags/bulk", "bulk"),
        ("GET", "/api/v1/tags/<pk>", "TagViewSet"),
        # imported module include, viewset.as_view(mapping) bound to a name
        ("GET", "/shop/orders/", "OrderViewSet"),
        ("POST", "/shop/orders/", "OrderViewSet"),
        ("GET", "/shop/orders/<int:pk>/", "OrderDetail"),
        ("PUT", "/shop/orders/<int:pk>/", "OrderDetail"),
        ("PATCH", "/shop/orders/<int:pk>/", "OrderDetail"),
        ("DELETE", "/shop/orders/<int:pk>/", "OrderDetail"),
        ("GET", "/shop/contact/", "contact"),
        ("POST", "/shop/contact/", "contact"),
        ("PUT", "/shop/report/", "report"),
        ("DELETE", "/shop/report/", "report"),
        ("POST", "/shop/form/", "post"),
        ("PUT", "/shop/form/", "put"),
        ("GET", "/shop/page/", "Page"),
        # regex prefix + url() regex, anchors stripped
        ("GET", "/legacy/items/(?P<item_id>[0-9]+)/", "legacy_item"),
        ("GET", "/hook/", "hook"),
        ("GET", "/inline/<slug:slug>/", "inline"),
        ("PATCH", "/inline/<slug:slug>/", "inline"),
        ("GET", "/extra/", "extra"),
        ("POST", "/extra/", "extra"),
        ("ANY", "/about/", "dispatch"),
        ("ANY", "/debug/", "debug"),
    } | {
        # drf-nested-routers: "<parent prefix>/<lookup_parent-lookup>/" in front
        ("GET", "/api/v1/orders/<order_code>/lines", "list"),
        ("DELETE", "/api/v1/orders/<order_code>/lines/<pk>", "destroy"),
    }
    by_key = {(e.method, e.path): e for e in endpoints}
    assert by_key[("GET", "/api/v1/orders")].handler.file == "src/shop/viewsets.py"
    assert [f.name for f in by_key[("POST", "/extra/")].body_fields] == ["name"]


def test_django_runtime_hints(tmp_path: Path) -> None:
    root = _project(tmp_path)
    hints = django.runtime_hints(root, ds.service_of(django, root))
    # gunicorn is declared: it serves config.wsgi from manage.py's folder
    assert hints.start_command == [
        "python",
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        "0.0.0.0:8000",
        "--chdir",
        "src",
    ]
    assert hints.port == 8000
    assert hints.extra_packages == []
    assert hints.env == {
        "DATABASE_URL": "sqlite:///db.sqlite3",
        "DEBUG": "True",
        "DJANGO_ALLOWED_HOSTS": "*",
        "SECRET_KEY": "dummy-secret_key-for-local-runs-only-0123456789abcdef",
        "TIMEOUT": "1",
    }


def test_django_configured_port_and_runserver(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'x'\ndependencies = ['Django>=4']\n",
            "Procfile": "web: python manage.py runserver 0.0.0.0:8080\n",
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site_conf.settings')\n",
            "site_conf/__init__.py": "",
            "site_conf/settings.py": "ROOT_URLCONF = 'site_conf.urls'\nBASE_PATH = ''\n",
            "site_conf/urls.py": """
                from django.conf import settings
                from django.urls import include, path, re_path

                def ping(request):
                    return None

                def status(request):
                    return None

                patterns = [path("", ping), re_path(r"^status/?$", status)]
                urlpatterns = [path(settings.BASE_PATH, include(patterns))]
            """,
        },
    )
    service = ds.service_of(django, tmp_path)
    # a computed include() prefix counts as ""; an optional final slash is written "/"
    assert ds.triples(django.discover(tmp_path, service)) == {("ANY", "/", "ping"), ("ANY", "/status/", "status")}
    hints = django.runtime_hints(tmp_path, service)
    assert hints.start_command == ["python", "manage.py", "runserver", "0.0.0.0:8080", "--noreload"]
    assert hints.port == 8080


def test_wsgi_only_project_runs_with_gunicorn(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "requirements.txt": "django\n",
            "src/proj/__init__.py": "",
            "src/proj/wsgi.py": """
                import os
                from django.core.wsgi import get_wsgi_application
                os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
                application = get_wsgi_application()
            """,
            "src/proj/settings.py": """
                import os
                ROOT_URLCONF = "proj.urls"
                WSGI_APPLICATION = "proj.wsgi.application"
                DATABASES = {"default": {"NAME": os.environ["DATABASE_URL"]}}
                PORT = int(os.environ["WORKERS"])
            """,
            "src/proj/urls.py": """
                from django.urls import path
                from django.views.generic import RedirectView

                from . import views

                urlpatterns = [path("go/", views.Go.as_view()), path("old/", RedirectView.as_view(url="/go/"))]
            """,
            "src/proj/views.py": """
                from django.views.generic import RedirectView

                class Go(RedirectView):
                    url = "/"
            """,
        },
    )
    service = ds.service_of(django, tmp_path)
    assert service.entrypoint == "src/proj/wsgi.py"
    endpoints = django.discover(tmp_path, service)
    # RedirectView answers every method; a library view used directly has no handler here
    assert ds.triples(endpoints) == {(m, "/go/", "Go") for m in ("GET", "POST", "PUT", "PATCH", "DELETE")}
    hints = django.runtime_hints(tmp_path, service)
    assert hints.start_command == [
        "python",
        "-m",
        "gunicorn",
        "proj.wsgi:application",
        "--bind",
        "0.0.0.0:8000",
        "--chdir",
        "src",
    ]
    assert hints.extra_packages == ["gunicorn"]
    assert hints.env == {"DATABASE_URL": "sqlite:///db.sqlite3", "WORKERS": "1"}


def test_multiple_django_services_and_mixed_repository(tmp_path: Path) -> None:
    shutil.copytree(DJANGO_FIXTURE, tmp_path / "services" / "library")
    shutil.copytree(FIXTURES / "flask_todo", tmp_path / "services" / "todo")
    ds.write_files(
        tmp_path / "services" / "blog",
        {
            "requirements.txt": "Django\n",
            "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'blog.settings')\n",
            "blog/__init__.py": "",
            "blog/settings.py": "ROOT_URLCONF = 'blog.urls'\n",
            "blog/urls.py": """
                from django.urls import path
                from django.views.decorators.http import require_POST

                @require_POST
                def publish(request, post_id):
                    return None

                urlpatterns = [path("posts/<int:post_id>/publish/", publish)]
            """,
        },
    )
    found = {(f.name, c.root) for f in FRAMEWORKS for c in f.detect(tmp_path)}
    assert found == {
        ("django", (tmp_path / "services" / "blog").resolve()),
        ("django", (tmp_path / "services" / "library").resolve()),
        ("flask", (tmp_path / "services" / "todo").resolve()),
    }
    blog, library = django.detect(tmp_path)
    assert ds.triples(django.discover(tmp_path, blog)) == {("POST", "/posts/<int:post_id>/publish/", "publish")}
    library_endpoints = django.discover(tmp_path, library)
    assert len(library_endpoints) == 19
    assert {e.handler.file for e in library_endpoints} == {
        "services/library/accounts/views.py",
        "services/library/catalog/views.py",
        "services/library/library/views.py",
    }


def test_unparseable_file_is_skipped(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "repo"
    shutil.copytree(DJANGO_FIXTURE, root)
    (root / "accounts" / "views.py").write_text("def broken(:\n    pass\n")
    with caplog.at_level(logging.WARNING):
        endpoints = ds.discover(django, root)
    assert "accounts/views.py: does not parse" in ds.log_messages(caplog)
    assert not any(e.path.startswith("/accounts/") for e in endpoints)
    assert len(endpoints) == 16


def test_detect_ignores_odd_input(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "manage.py": "print('not django')\n",
            "tests/manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'x.settings')\n",
            "docs/settings.py": "ROOT_URLCONF = 'x.urls'\n",
        },
    )
    (tmp_path / "blob.py").write_bytes(b"\x00\x01")
    assert django.detect(tmp_path) == []


# --------------------------------------------------------------------------- Flask and FastAPI gaps


def test_flask_class_based_views(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": """
                from flask import Flask
                from flask.views import MethodView, View

                from api import bp

                app = Flask(__name__)


                class BaseAPI(MethodView):
                    def get(self, item_id=None):
                        return "item"


                class ItemAPI(BaseAPI):
                    def delete(self, item_id):
                        return ""

                    def put(self, item_id):
                        return ""


                class Report(View):
                    methods = ["GET", "POST"]

                    def dispatch_request(self):
                        return "report"


                class Unused(MethodView):
                    def get(self):
                        return ""


                item_view = ItemAPI.as_view("item")
                app.add_url_rule("/items/<int:item_id>", view_func=item_view)
                app.add_url_rule("/items", view_func=item_view, methods=["GET"])
                app.add_url_rule("/report", view_func=Report.as_view("report"))
                app.register_blueprint(bp, url_prefix="/v2")
            """,
            "api.py": """
                from flask import Blueprint
                from flask.views import MethodView, View

                bp = Blueprint("api", __name__)


                class UserAPI(MethodView):
                    def get(self):
                        return "users"

                    def post(self):
                        return "created"


                class Plain(View):
                    def dispatch_request(self):
                        return "plain"


                bp.add_url_rule("/users", view_func=UserAPI.as_view("users"))
                bp.add_url_rule("/plain", view_func=Plain.as_view("plain"))
            """,
        },
    )
    flask = get_framework("flask")
    (service,) = flask.detect(tmp_path)
    endpoints = flask.discover(tmp_path, service)
    assert {(e.method, e.path, e.handler.name, e.handler.file) for e in endpoints} == {
        ("GET", "/items/<int:item_id>", "get", "app.py"),
        ("PUT", "/items/<int:item_id>", "put", "app.py"),
        ("DELETE", "/items/<int:item_id>", "delete", "app.py"),
        ("GET", "/items", "get", "app.py"),
        ("GET", "/report", "dispatch_request", "app.py"),
        ("POST", "/report", "dispatch_request", "app.py"),
        ("GET", "/v2/users", "get", "api.py"),
        ("POST", "/v2/users", "post", "api.py"),
        ("GET", "/v2/plain", "dispatch_request", "api.py"),
    }
    get_item = next(e for e in endpoints if e.path == "/items").handler
    source = (tmp_path / "app.py").read_bytes()
    assert source[get_item.start_byte : get_item.end_byte].startswith(b"def get(self, item_id=None):")
    masked = flask.mask_body(source, get_item)
    assert b'def get(self, item_id=None):\n        return {"error": "Not implemented"}, 501' in masked


def test_fastapi_mounted_apps_and_nested_routers(tmp_path: Path) -> None:
    ds.write_files(
        tmp_path,
        {
            "requirements.txt": "fastapi\nuvicorn\n",
            "main.py": """
                from fastapi import FastAPI
                from fastapi.staticfiles import StaticFiles

                from admin import admin_app
                from routers import api

                app = FastAPI()
                app.include_router(api, prefix="/api")
                app.mount("/admin/", admin_app)
                app.mount("/static", StaticFiles(directory="static"), name="static")


                @app.get("/")
                def root():
                    return {}
            """,
            "admin.py": """
                from fastapi import APIRouter, FastAPI

                admin_app = FastAPI()
                users = APIRouter(prefix="/users")


                @users.delete("/{user_id}")
                def ban(user_id: int):
                    return {}


                @admin_app.get("/stats")
                def stats():
                    return {}


                admin_app.include_router(users)
            """,
            "routers.py": """
                from fastapi import APIRouter

                api = APIRouter(prefix="/v1")
                items = APIRouter(prefix="/items")
                reviews = APIRouter()


                @reviews.post("/")
                def add_review(item_id: int):
                    return {}


                @items.get("/{item_id}")
                def read_item(item_id: int):
                    return {}


                items.include_router(reviews, prefix="/{item_id}/reviews")
                api.include_router(items)
            """,
        },
    )
    fastapi = get_framework("fastapi")
    (service,) = fastapi.detect(tmp_path)
    assert service.entrypoint == "main:app"
    endpoints = fastapi.discover(tmp_path, service)
    assert {(e.method, e.path, e.handler.name) for e in endpoints} == {
        ("GET", "/", "root"),
        ("GET", "/api/v1/items/{item_id}", "read_item"),
        ("POST", "/api/v1/items/{item_id}/reviews/", "add_review"),
        ("GET", "/admin/stats", "stats"),
        ("DELETE", "/admin/users/{user_id}", "ban"),
    }
