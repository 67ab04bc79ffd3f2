"""The explore stage as a whole: several services, shared parsing, bad files, delegates."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from pipeline.config import Settings
from pipeline.frameworks import FRAMEWORKS
from pipeline.frameworks import treesitter as ts
from pipeline.frameworks.base import Framework, RuntimeHints, ServiceCandidate
from pipeline.models import Endpoint, Handler, Inventory, RepoSnapshot, StageError, Verdict, normalize_path
from pipeline.stages import explore as explore_stage

FIXTURES = Path(__file__).parent / "fixtures"


def _explore(root: Path, **settings: object) -> Inventory:
    snapshot = RepoSnapshot(path=root, commit="test", origin=str(root), owner="local", name=root.name)
    return explore_stage.explore(snapshot, Settings(**settings))


def _write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip())
    return root


FLASK_APP = """
    from flask import Flask, jsonify

    app = Flask(__name__)


    @app.get("/items")
    def list_items():
        return jsonify([])
"""


# --------------------------------------------------------------------------- several services


def test_monorepo_services_each_with_own_root_and_framework() -> None:
    inventory = _explore(FIXTURES / "monorepo_shop")
    assert [(s.root, s.framework, s.entrypoint) for s in inventory.services] == [
        ("services/catalog", "flask", "app.py"),
        ("services/orders", "express", "index.js"),
    ]
    truth = json.loads((FIXTURES / "monorepo_shop" / "ground_truth.json").read_text())
    found = {
        (s.framework, e.method, e.normalized_path, e.handler.name) for s in inventory.services for e in s.endpoints
    }
    assert found == {(t["framework"], t["method"], normalize_path(t["path"]), t["handler"]) for t in truth}
    # Handlers are relative to the repository, not the service.
    catalog = inventory.services[0]
    assert {e.handler.file for e in catalog.endpoints} == {
        "services/catalog/app.py",
        "services/catalog/catalog/views.py",
    }
    # Groups: named after the service folder and the resource below the service's own prefix;
    # health checks make no group; the decoy is nowhere.
    assert [(g.name, g.service_root, len(g.endpoints)) for g in inventory.groups] == [
        ("catalog_products", "services/catalog", 4),
        ("orders_orders", "services/orders", 4),
    ]
    assert all(e.handler.name not in {"clearance_sale", "refundOrder"} for s in inventory.services for e in s.endpoints)
    assert inventory.warnings == []


def test_groups_are_stable_and_sized(tmp_path: Path) -> None:
    first = _explore(FIXTURES / "monorepo_shop", max_group_endpoints=3)
    again = _explore(FIXTURES / "monorepo_shop", max_group_endpoints=3)
    assert first.groups == again.groups
    assert [g.name for g in first.groups] == [
        "catalog_products_1",
        "catalog_products_2",
        "orders_orders_1",
        "orders_orders_2",
    ]
    assert all(1 <= len(g.endpoints) <= 3 for g in first.groups)
    assert all(g.description.endswith("endpoints).") or g.description.endswith("endpoint).") for g in first.groups)
    fewer = _explore(FIXTURES / "monorepo_shop", min_group_endpoints=5)
    assert fewer.groups == []


# --------------------------------------------------------------------------- delegates


def test_delegates_follow_calls_only_the_group_makes() -> None:
    inventory = _explore(FIXTURES / "monorepo_shop")
    catalog, orders = inventory.groups
    assert [(d.file, d.name) for d in catalog.delegates] == [
        ("services/catalog/catalog/pricing.py", "price_with_tax"),
        ("services/catalog/catalog/pricing.py", "apply_discount"),
        ("services/catalog/catalog/pricing.py", "_discount_amount"),  # depth 2: called by apply_discount
    ]
    assert [(d.file, d.name) for d in orders.delegates] == [("services/orders/lib/orders.js", "totalOf")]
    source = (FIXTURES / "monorepo_shop" / catalog.delegates[0].file).read_bytes()
    body = source[catalog.delegates[0].body_start_byte : catalog.delegates[0].body_end_byte].decode()
    assert body == "return round(net_cents * (1 + TAX_RATE))"

    shallow = _explore(FIXTURES / "monorepo_shop", delegate_depth=1)
    assert [d.name for d in shallow.groups[0].delegates] == ["price_with_tax", "apply_discount"]
    assert _explore(FIXTURES / "monorepo_shop", delegate_depth=0).groups[0].delegates == []


def test_shared_ambiguous_and_startup_helpers_are_not_delegates(tmp_path: Path) -> None:
    _write(
        tmp_path,
        {
            "requirements.txt": "flask\n",
            "app.py": """
                from flask import Flask, jsonify

                from logic import audit, load_seed, normalize, only_users, save

                app = Flask(__name__)
                SEED = load_seed()


                @app.get("/users")
                def list_users():
                    return jsonify(only_users(normalize([])))


                @app.post("/users")
                def create_user():
                    save("user")
                    return jsonify(audit("user"))


                @app.get("/posts")
                def list_posts():
                    return jsonify(normalize([]) + load_seed())
            """,
            "logic.py": """
                def only_users(rows):
                    return rows


                def normalize(rows):
                    return sorted(rows)


                def load_seed():
                    return []


                def audit(what):
                    return what


                def save(what):
                    return what
            """,
            "other.py": """
                def save(what):
                    return None
            """,
        },
    )
    users, posts = ("users", "posts")
    groups = {g.name: g for g in _explore(tmp_path).groups}
    # only_users and audit: called only from the users group. normalize: shared with posts.
    # load_seed: also called at start-up. save: defined twice, never guessed.
    assert [d.name for d in groups[users].delegates] == ["only_users", "audit"]
    assert groups[posts].delegates == []


# --------------------------------------------------------------------------- robustness


def test_bad_files_are_skipped_with_warnings(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    _write(outside, {"secret.py": "@app.get('/stolen')\ndef stolen():\n    return 'x'\n", "pkg/leak.py": "x = 1\n"})
    repo = _write(
        tmp_path / "repo",
        {
            "requirements.txt": "flask\n",
            "app.py": FLASK_APP,
            "broken.py": "def oops(:\n    return\n",
            "blob.py": b"\x00\x01\x02binary\x00",
            "huge.py": "x = 1\n" * (ts.MAX_FILE_BYTES // 6 + 10),
        },
    )
    os.symlink(outside / "secret.py", repo / "linked.py")
    os.symlink(outside / "pkg", repo / "linkeddir")
    inventory = _explore(repo)
    assert [(e.method, e.path) for s in inventory.services for e in s.endpoints] == [("GET", "/items")]
    joined = "\n".join(inventory.warnings)
    assert "skipped broken.py: does not parse as python" in joined
    assert "skipped blob.py: binary content" in joined
    assert "skipped huge.py:" in joined and "larger than" in joined
    assert "skipped linked.py: symlink pointing outside the repository" in joined
    assert "skipped linkeddir: symlink pointing outside the repository" in joined
    # Each problem is reported once, however many frameworks looked at the file.
    assert len(inventory.warnings) == len(set(inventory.warnings))


class _Exploding(Framework):
    name = "exploding"
    language = "python"

    def __init__(self, where: str) -> None:
        self.where = where

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        if self.where == "detect":
            raise RuntimeError("detector bug")
        return [ServiceCandidate(root=repo_root)]

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        raise RuntimeError("discoverer bug")

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        raise NotImplementedError

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        raise NotImplementedError


def test_a_failing_framework_module_costs_only_its_own_answer(tmp_path: Path, monkeypatch) -> None:
    repo = _write(tmp_path, {"requirements.txt": "flask\n", "app.py": FLASK_APP})
    monkeypatch.setattr(explore_stage, "FRAMEWORKS", [_Exploding("detect"), _Exploding("discover"), *FRAMEWORKS])
    inventory = _explore(repo)
    assert [s.framework for s in inventory.services] == ["flask"]
    assert "exploding: detection failed (RuntimeError: detector bug)" in inventory.warnings
    assert "exploding app at .: discovery failed (RuntimeError: discoverer bug)" in inventory.warnings


def test_nothing_found_is_a_verdict(tmp_path: Path) -> None:
    repo = _write(tmp_path, {"README.md": "# nothing\n", "lib.py": "def f():\n    return 1\n"})
    with pytest.raises(StageError) as info:
        _explore(repo)
    assert info.value.verdict == Verdict.no_endpoints


def test_each_file_is_parsed_once_per_language(monkeypatch) -> None:
    parsed: list[bytes] = []
    real_parse = ts.parse

    def counting_parse(source: bytes, language: str):
        parsed.append(source)
        return real_parse(source, language)

    monkeypatch.setattr(ts, "parse", counting_parse)
    _explore(FIXTURES / "monorepo_shop")
    assert parsed, "nothing was parsed"
    assert len(parsed) == len(set(parsed)), "a file was parsed twice during one exploration"
