"""The database and cache images services need beside them (issue 17), under their official
names: each is made like any base image (pulled, else built from Debian's packages), started
with the official image's variables on a network of its own, and really used through a real
client, from inside and from a second container. Run with -s to see the start-to-healthy times.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import pytest
from docker.models.containers import Container
from docker.models.networks import Network

from pipeline.runtime import base_images, sandbox

MEMORY = "384m"
HEALTH_TIMEOUT = 120.0
# An init script that is still running while the test looks: the server must not be
# reachable or report ready until it is done.
# What a second container does over TCP: a table of its own, and the init scripts' rows.
CREATE_AND_COUNT = "CREATE TABLE t (v int); INSERT INTO t VALUES (42); SELECT v FROM t; SELECT count(*) FROM items"
SLOW_INIT = "touch /tmp/init-running\nsleep 4\nrm -f /tmp/init-running\n"


@dataclass
class Sidecar:
    container: Container
    network: Network
    seconds_to_healthy: float
    # Samples taken while the slow init script ran: (the probe's exit code, its output).
    during_init: list[tuple[int, str]]
    volumes: list[str]


def _tar(files: dict[str, tuple[bytes, int]]) -> bytes:
    """An archive for put_archive (what `docker cp` sends): name -> (content, mode)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, (content, mode) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(content), mode, int(time.time())
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _labels(run_id: str) -> dict[str, str]:
    return {sandbox.LABEL: "1", sandbox.RUN_LABEL: run_id}


def _exec(container: Container, command: list[str], **kwargs) -> tuple[int, str]:
    code, output = container.exec_run(command, **kwargs)
    return code, output.decode("utf-8", errors="replace")


@contextlib.contextmanager
def _started(
    client,
    run_id: str,
    image: str,
    *,
    environment: dict[str, str],
    health: list[str],
    init_files: dict[str, tuple[bytes, int]] | None = None,
    command: list[str] | None = None,
) -> Iterator[Sidecar]:
    """Create the container, copy init files into it before it starts (as `docker cp`
    does), start it, and probe `health` until it passes; removed afterwards, always."""
    network = client.networks.create(f"abc-test-sidecar-{uuid.uuid4().hex[:8]}", labels=_labels(run_id))
    container = None
    try:
        container = client.containers.create(
            image,
            command,
            name=f"abc-test-sidecar-{uuid.uuid4().hex[:8]}",
            environment=environment,
            network=network.name,
            mem_limit=MEMORY,
            labels=_labels(run_id),
        )
        if init_files:
            assert container.put_archive("/docker-entrypoint-initdb.d", _tar(init_files))
        start = time.monotonic()
        container.start()
        during_init: list[tuple[int, str]] = []
        while True:
            # One exec per sample: whether the slow init script is running, then the probe.
            code, output = _exec(
                container, ["sh", "-c", 'test -e /tmp/init-running && echo INIT-RUNNING; "$@"', "probe", *health]
            )
            if code == 0 and "INIT-RUNNING" not in output:
                break
            if "INIT-RUNNING" in output:
                during_init.append((code, output))
            container.reload()
            if container.status == "exited":
                pytest.fail(f"{image} exited before it was healthy:\n{container.logs().decode()[-3000:]}")
            if time.monotonic() - start > HEALTH_TIMEOUT:
                pytest.fail(f"{image} not healthy in {HEALTH_TIMEOUT:.0f} s:\n{container.logs().decode()[-3000:]}")
            time.sleep(0.2)
        seconds = time.monotonic() - start
        print(f"\n{image}: healthy {seconds:.1f} s after start")
        volumes = [m["Name"] for m in container.attrs["Mounts"] if m.get("Type") == "volume"]
        yield Sidecar(container, network, seconds, during_init, volumes)
    finally:
        if container is not None:
            container.remove(force=True, v=True)  # v: the image's VOLUME, as the official one has
        network.remove()


def _client_run(client, run_id: str, sidecar: Sidecar, image: str, command: list[str], env: dict[str, str]) -> str:
    """Run a client in a second container on the sidecar's network; its output, or a
    failure with it when it exits non-zero."""
    code, output = _client_try(client, run_id, sidecar, image, command, env)
    assert code == 0, output
    return output


def _client_try(
    client, run_id: str, sidecar: Sidecar, image: str, command: list[str], env: dict[str, str]
) -> tuple[int, str]:
    container = client.containers.create(
        image, command, environment=env, network=sidecar.network.name, labels=_labels(run_id)
    )
    try:
        container.start()
        code = container.wait(timeout=120)["StatusCode"]
        return code, container.logs().decode("utf-8", errors="replace")
    finally:
        container.remove(force=True, v=True)


def _assert_quiet_during_init(sidecar: Sidecar) -> None:
    assert sidecar.during_init, "never saw the slow init script running: the probe came too late"
    refused = [output for code, output in sidecar.during_init if code == 0]
    assert not refused, f"the health probe passed while init scripts still ran: {refused}"


def _server_uid(container: Container) -> str:
    code, output = _exec(container, ["sh", "-c", "grep '^Uid:' /proc/1/status"])
    assert code == 0, output
    return output.split()[1]


def _assert_removed(client, run_id: str, sidecar: Sidecar) -> None:
    """Nothing of the sidecar is left: container, network, and the image's anonymous volume."""
    assert sandbox.leftovers(run_id) == []
    assert sidecar.volumes, "the image declares a VOLUME, as the official one does"
    for name in sidecar.volumes:
        with pytest.raises(docker.errors.NotFound):
            client.volumes.get(name)


# --------------------------------------------------------------------------- recipe folders


def test_a_recipe_folder_goes_into_the_hash(tmp_path: Path):
    """Editing, adding or un-executabling a file of docker/base/<name>/ rebuilds the image;
    a recipe without a folder keeps the hash it had before folders existed."""
    (tmp_path / "plain.Dockerfile").write_text("# image: plain:1\nFROM scratch\n")
    (tmp_path / "side.Dockerfile").write_text("# image: side:1\nFROM scratch\nCOPY entry.sh /\n")
    folder = tmp_path / "side"
    folder.mkdir()
    script = folder / "entry.sh"
    script.write_text('#!/bin/sh\nexec "$@"\n')
    script.chmod(0o755)

    def hashes() -> tuple[str, str]:
        recipes = base_images.load_recipes(tmp_path)
        return (base_images.recipe_hash(recipes["plain"], None), base_images.recipe_hash(recipes["side"], None))

    recipes = base_images.load_recipes(tmp_path)
    assert recipes["plain"].context_dir is None and recipes["plain"].files() == []
    assert [name for name, _ in recipes["side"].files()] == ["entry.sh"]
    without_folder = base_images.Recipe(
        name="plain", image="plain:1", default=False, check="true", template=recipes["plain"].template, path=tmp_path
    )
    plain, first = hashes()
    assert plain == base_images.recipe_hash(without_folder, None)

    script.write_text('#!/bin/sh\nset -e\nexec "$@"\n')
    plain_after, edited = hashes()
    assert plain_after == plain and edited != first
    script.chmod(0o644)
    _, not_executable = hashes()
    assert not_executable not in {first, edited}
    (folder / "conf").mkdir()
    (folder / "conf" / "extra.cnf").write_text("[server]\n")
    _, added = hashes()
    assert added not in {first, edited, not_executable}
    assert [name for name, _ in base_images.load_recipes(tmp_path)["side"].files()] == ["conf/extra.cnf", "entry.sh"]


# --------------------------------------------------------------------------- postgres

POSTGRES = "postgres:15-bookworm"
PG_ENV = {"POSTGRES_PASSWORD": "pg-secret", "POSTGRES_USER": "shop", "POSTGRES_DB": "shopdb"}


def _postgres(client, run_id: str) -> contextlib.AbstractContextManager[Sidecar]:
    base_images.ensure([POSTGRES])
    init_files = {
        "01-schema.sql": (b"CREATE TABLE items (id serial PRIMARY KEY, name text NOT NULL);\n", 0o644),
        "02-seed.sql.gz": (gzip.compress(b"INSERT INTO items (name) VALUES ('from-gz');\n"), 0o644),
        # Not executable, so sourced: it sees the entrypoint's variables.
        "03-slow.sh": (
            SLOW_INIT.encode()
            + b'psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB"'
            + b" -c \"INSERT INTO items (name) VALUES ('from-sh')\"\n",
            0o644,
        ),
    }
    # The probe a sidecar's health check would use, over TCP as the service connects.
    health = ["pg_isready", "-h", "127.0.0.1", "-U", "shop", "-d", "shopdb"]
    return _started(client, run_id, POSTGRES, environment=PG_ENV, health=health, init_files=init_files)


@pytest.mark.docker
def test_postgres_is_usable_like_the_official_image(docker_engine, run_id):
    with _postgres(docker_engine, run_id) as sidecar:
        _assert_quiet_during_init(sidecar)
        container = sidecar.container
        # Plain pg_isready over the socket too: only the real server listens there.
        code, output = _exec(container, ["pg_isready", "-U", "shop", "-d", "shopdb"])
        assert code == 0, output
        assert _server_uid(container) == "999"  # the postgres user, as in the official image

        code, output = _exec(
            container,
            ["psql", "-v", "ON_ERROR_STOP=1", "-U", "shop", "-d", "shopdb", "-tA", "-c",
             "INSERT INTO items (name) VALUES ('from-exec'); SELECT name FROM items ORDER BY id"],
        )  # fmt: skip
        assert code == 0, output
        assert output.split() == ["INSERT", "0", "1", "from-gz", "from-sh", "from-exec"]

        over_tcp = ["psql", "-h", container.name, "-U", "shop", "-d", "shopdb", "-v", "ON_ERROR_STOP=1", "-tA", "-c"]
        output = _client_run(
            docker_engine, run_id, sidecar, POSTGRES,
            [*over_tcp, CREATE_AND_COUNT],
            {"PGPASSWORD": PG_ENV["POSTGRES_PASSWORD"]},
        )  # fmt: skip
        assert output.split() == ["CREATE", "TABLE", "INSERT", "0", "1", "42", "3"]

        code, output = _client_try(
            docker_engine, run_id, sidecar, POSTGRES, [*over_tcp, "SELECT 1"], {"PGPASSWORD": "wrong"}
        )
        assert code != 0 and "password authentication failed" in output, output
    _assert_removed(docker_engine, run_id, sidecar)


@pytest.mark.docker
def test_postgres_without_a_password_refuses_to_start(docker_engine, run_id):
    base_images.ensure([POSTGRES])
    container = docker_engine.containers.create(POSTGRES, labels=_labels(run_id), mem_limit=MEMORY)
    try:
        container.start()
        assert container.wait(timeout=60)["StatusCode"] != 0
        assert "POSTGRES_PASSWORD" in container.logs().decode()
    finally:
        container.remove(force=True, v=True)


# --------------------------------------------------------------------------- mariadb

MARIADB = "mariadb:10.11"
# The MYSQL_ names, as services written for MySQL set them, and one MARIADB_ name.
MARIADB_ENV = {
    "MARIADB_ROOT_PASSWORD": "root-secret",
    "MYSQL_DATABASE": "shopdb",
    "MYSQL_USER": "shop",
    "MYSQL_PASSWORD": "shop-secret",
}


def _mariadb(client, run_id: str) -> contextlib.AbstractContextManager[Sidecar]:
    base_images.ensure([MARIADB])
    init_files = {
        "01-schema.sql": (b"CREATE TABLE items (id int AUTO_INCREMENT PRIMARY KEY, name varchar(40));\n", 0o644),
        # Executable, so run: it connects as the official image's scripts do.
        "02-slow.sh": (
            b"#!/bin/bash\nset -e\n"
            + SLOW_INIT.encode()
            + b'mariadb -uroot -p"$MARIADB_ROOT_PASSWORD" "$MYSQL_DATABASE"'
            + b" -e \"INSERT INTO items (name) VALUES ('from-sh')\"\n",
            0o755,
        ),
    }
    health = ["healthcheck.sh", "--connect", "--innodb_initialized"]
    return _started(client, run_id, MARIADB, environment=MARIADB_ENV, health=health, init_files=init_files)


@pytest.mark.docker
def test_mariadb_is_usable_like_the_official_image(docker_engine, run_id):
    with _mariadb(docker_engine, run_id) as sidecar:
        _assert_quiet_during_init(sidecar)
        container = sidecar.container
        code, output = _exec(container, ["mariadb-admin", "-uroot", "-proot-secret", "ping"])
        assert code == 0 and "alive" in output, output
        assert _server_uid(container) == "999"  # the mysql user, as in the official image

        sql = ["mariadb", "-ushop", "-pshop-secret", "shopdb", "--skip-column-names", "-e"]
        code, output = _exec(container, [*sql, "INSERT INTO items (name) VALUES ('from-exec'); SELECT name FROM items"])
        assert code == 0, output
        assert output.split() == ["from-sh", "from-exec"]

        over_tcp = ["mariadb", "-h", container.name, "-ushop", "-pshop-secret", "shopdb", "--skip-column-names", "-e"]
        output = _client_run(
            docker_engine, run_id, sidecar, MARIADB,
            [*over_tcp, CREATE_AND_COUNT],
            {},
        )  # fmt: skip
        assert output.split() == ["42", "2"]
        # All privileges on its database, none beyond it.
        code, output = _client_try(docker_engine, run_id, sidecar, MARIADB, [*over_tcp, "CREATE DATABASE other"], {})
        assert code != 0 and "Access denied" in output, output

        wrong = ["mariadb", "-h", container.name, "-ushop", "-pwrong", "shopdb", "-e", "SELECT 1"]
        code, output = _client_try(docker_engine, run_id, sidecar, MARIADB, wrong, {})
        assert code != 0 and "Access denied" in output, output
    _assert_removed(docker_engine, run_id, sidecar)


# --------------------------------------------------------------------------- redis

REDIS = "redis:7-bookworm"


@pytest.mark.docker
def test_redis_is_usable_like_the_official_image(docker_engine, run_id):
    base_images.ensure([REDIS])
    # Extra arguments after the image go to redis-server, as with the official CMD.
    with _started(
        docker_engine, run_id, REDIS, environment={}, health=["redis-cli", "ping"], command=["--maxmemory", "32mb"]
    ) as sidecar:
        container = sidecar.container
        code, output = _exec(container, ["redis-cli", "config", "get", "maxmemory"])
        assert output.split() == ["maxmemory", str(32 * 1024 * 1024)], output
        assert _server_uid(container) == "999"  # the redis user, as in the official image
        # From another host without a password: protected mode is off, as in the official image.
        remote = ["redis-cli", "-h", container.name]
        output = _client_run(docker_engine, run_id, sidecar, REDIS, [*remote, "SET", "greeting", "hello"], {})
        assert output.strip() == "OK"
        code, output = _exec(container, ["redis-cli", "GET", "greeting"])
        assert output.strip() == "hello", output
    _assert_removed(docker_engine, run_id, sidecar)


# --------------------------------------------------------------------------- mongodb (FerretDB)

FERRETDB = "ghcr.io/ferretdb/ferretdb:1.24.2"
PYTHON = "python:3.11-slim-bookworm"
# A real MongoDB driver (pymongo, from PyPI) against the stand-in: documents, a filter, an
# update, an aggregation, and a unique index that refuses a duplicate.
MONGO_CLIENT = """
import pymongo, sys
client = pymongo.MongoClient(sys.argv[1], serverSelectionTimeoutMS=20000)
items = client["shop"]["items"]
items.insert_many([{"name": "a", "qty": 1}, {"name": "b", "qty": 5}])
items.create_index("name", unique=True)
items.update_one({"name": "a"}, {"$inc": {"qty": 2}})
print("found", sorted(d["name"] for d in items.find({"qty": {"$gt": 2}})))
print("total", next(items.aggregate([{"$group": {"_id": None, "total": {"$sum": "$qty"}}}]))["total"])
try:
    items.insert_one({"name": "a"})
except pymongo.errors.DuplicateKeyError:
    print("duplicate refused")
"""


@pytest.mark.docker
def test_ferretdb_serves_a_mongodb_driver(docker_engine, run_id):
    base_images.ensure([FERRETDB])
    # The stand-in has bash; the probe is a TCP connect, as a sidecar's health check would be.
    health = ["bash", "-c", ": </dev/tcp/127.0.0.1/27017"]
    with _started(
        docker_engine, run_id, FERRETDB, environment={"FERRETDB_HANDLER": "sqlite"}, health=health
    ) as sidecar:
        assert _server_uid(sidecar.container) == "1000"
        script = 'pip install -q --disable-pip-version-check \'pymongo>=4,<5\' && python -c "$0" "$1"'
        uri = f"mongodb://{sidecar.container.name}:27017/"
        output = _client_run(docker_engine, run_id, sidecar, PYTHON, ["sh", "-c", script, MONGO_CLIENT, uri], {})
        assert "found ['a', 'b']" in output, output
        assert "total 8" in output, output
        assert "duplicate refused" in output, output
    _assert_removed(docker_engine, run_id, sidecar)
