"""A repository's SQL dump in a MySQL sidecar (pipeline/runtime/sql_dumps.py): which dumps
are chosen and which database they name, how run-tests.sh and the pipeline copy them in,
what a service's crash on its database's error is classed as, and (Docker) that a dump
written for MySQL 8 or 5.6 loads into the MariaDB stand-in where its strict first start
refused it, while what still fails is reported, not fatal.

tests/fixtures/flask_mysql8_library is such a service: its db/library.sql has MySQL 8's
utf8mb4_0900_* collations and `/*!80016 ...*/` clause, its own CREATE DATABASE and USE, and
a row too long for its column (MySQL 5.6 cut it).
"""

from __future__ import annotations

import dataclasses
import subprocess
import uuid
from pathlib import Path

import pytest

from pipeline.config import Limits
from pipeline.models import EnvSpec
from pipeline.runtime import sandbox, sidecar_containers, sql_dumps
from pipeline.stages import repair, sidecars
from pipeline.stages.package import run_tests_script

FIXTURES = Path(__file__).parent / "fixtures"
LIBRARY = FIXTURES / "flask_mysql8_library"
MYSQL_POM = (
    "<project><dependencies><dependency><artifactId>mysql-connector-j</artifactId></dependency></dependencies>"
    "</project>"
)
PG_POM = "<project><dependencies><dependency><artifactId>postgresql</artifactId></dependency></dependencies></project>"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_a_dump_that_creates_its_database_is_the_services_database_on_mysql():
    (need,) = sidecars.detect(LIBRARY, ".")
    assert (need.kind.name, need.init_files, need.database) == ("mysql", ["db/library.sql"], "library")
    sidecar = sidecars.sidecar_for(need)
    assert sidecar.env["MARIADB_DATABASE"] == "library"
    assert "--sql-mode=NO_ENGINE_SUBSTITUTION" in sidecar.command and sidecar.init_loader == sql_dumps.LOADER
    spec = sidecars.attach(_spec(), [need], {"DB_HOST", "DB_USER", "DB_PASSWORD", "DB_NAME"})
    assert sidecars.run_env(spec)["DB_NAME"] == "library"


def test_a_dump_that_creates_its_database_loads_through_a_loader_and_names_the_database(tmp_path):
    """Run by the entrypoint strictly, its CREATE DATABASE of the database the server made
    already would stop the server's first start: only a kind with a loader takes it."""
    create = "CREATE TABLE a (id int);\ncreate table b (id int);\n"
    files = {"lib/shop.sql": create, "data/creates-its-database.sql": "CREATE DATABASE shop;\nUSE shop;\n" + create * 3}
    (pg,) = sidecars.detect(_write(tmp_path / "pg", {"pom.xml": PG_POM, **files}), ".")
    assert (pg.init_files, pg.database) == (["data/creates-its-database.sql"], "shop")
    (my,) = sidecars.detect(_write(tmp_path / "my", {"pom.xml": MYSQL_POM, **files}), ".")
    assert (my.init_files, my.database) == (["data/creates-its-database.sql"], "shop")
    strict = dataclasses.replace(sidecars.KINDS["postgresql"], init_loader="")
    assert sidecars._schema_dump(tmp_path / "pg", strict) == ["lib/shop.sql"]


def test_the_database_a_url_names_outranks_the_dumps(tmp_path):
    root = _write(
        tmp_path,
        {
            "pom.xml": MYSQL_POM,
            "src/main/resources/application.yml": "url: jdbc:mysql://localhost:3306/blog?useSSL=false\n",
            "sql/blog.sql": "CREATE DATABASE other;\nUSE other;\nCREATE TABLE a (id int);\n",
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert need.database == "blog"


def test_the_dumps_beside_the_chosen_one_load_too_tables_first(tmp_path):
    """RuoYi's script/sql/mysql holds its tables and Flowable's in two files; the service needs both."""
    root = _write(
        tmp_path,
        {
            "pom.xml": MYSQL_POM,
            "script/sql/mysql/flowable.sql": "CREATE TABLE act_a (id int);\n" * 5,
            "script/sql/mysql/app.sql": "CREATE TABLE sys_user (id int);\nCREATE TABLE sys_config (id int);\n",
            "script/sql/mysql/a_seed.sql": "INSERT INTO sys_user VALUES (1);\n",
            "script/sql/mysql/update/v2.sql": "ALTER TABLE sys_user ADD name varchar(10);\n",
            "script/sql/oracle/app.sql": "CREATE TABLE sys_user (id number);\n" * 9,
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert need.init_files == [
        "script/sql/mysql/flowable.sql",
        "script/sql/mysql/app.sql",
        "script/sql/mysql/a_seed.sql",
    ]


def test_a_commented_out_url_is_not_a_server_the_service_needs(tmp_path):
    """RuoYi's application-dev.yml keeps a PostgreSQL data source commented out under its MySQL one."""
    root = _write(
        tmp_path,
        {
            "src/main/resources/application-dev.yml": (
                "master:\n  url: jdbc:mysql://localhost:3306/ry?useSSL=true\n"
                "#        postgres:\n#          url: jdbc:postgresql://localhost:5432/postgres?x=1\n"
            ),
            "src/main/java/App.java": "// jdbc:postgresql://localhost:5432/old\nclass App {}\n",
        },
    )
    assert [(n.kind.name, n.database) for n in sidecars.detect(root, ".")] == [("mysql", "ry")]


def test_the_loader_rewrites_mysql_8s_names_and_reports_what_failed():
    for old, new in sql_dumps.REWRITES:
        assert f"'s#{old}#{new}#g'" in sql_dumps.LOADER
    log = (
        "2026-12-06 [entrypoint] sourcing /docker-entrypoint-initdb.d/00-00-load-sql-dumps.sh\n"
        f"{sql_dumps.MARKER} 00-schema.sql loaded\n"
        f"{sql_dumps.MARKER} 01-data.sql: 2 statement(s) failed; the first: ERROR 1064 (42000) at line 3: syntax\n"
    )
    assert sql_dumps.problems(log) == [
        "01-data.sql: 2 statement(s) failed; the first: ERROR 1064 (42000) at line 3: syntax"
    ]
    assert sql_dumps.target_name(0, "db/a.sql", loader=True) == "00-a.sql.dump"
    assert sql_dumps.target_name(1, "db/b.sh", loader=True) == "01-b.sh"
    assert sql_dumps.target_name(2, "db/c.sql", loader=False) == "02-c.sql"
    assert sql_dumps.dump_database("CREATE DATABASE /*!32312 IF NOT EXISTS*/ `x`;\nUSE `library`;\n") == "library"
    assert sql_dumps.dump_database("create database if not exists shop;\n") == "shop"


def _spec() -> EnvSpec:
    return EnvSpec(
        service_root=".",
        language="python",
        framework="flask",
        base_image="python:3.11-slim-bookworm",
        dockerfile='FROM python:3.11-slim-bookworm\nCMD ["flask", "run"]\n',
        port=5000,
        start_command=["flask", "run"],
    )


def test_run_tests_starts_mysql_with_its_sql_mode_and_loads_the_dump_through_the_loader(tmp_path):
    spec = sidecars.attach(_spec(), sidecars.detect(LIBRARY, "."), {"DB_NAME"})
    script = run_tests_script(
        task_id="local_x__books",
        repo_dir="Local_x",
        service_root=".",
        port=5000,
        health_path="/health",
        limits=Limits(),
        group="books",
        client_base_image="python:3.11-slim-bookworm",
        test_requirements=[],
        sidecars=spec.sidecars,
        service_env=sidecars.run_env(spec),
        sidecar_limits=sidecar_containers.LIMITS,
    )
    path = tmp_path / "run-tests.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert "mariadb:10.11 --sql-mode=NO_ENGINE_SUBSTITUTION --character-set-server=utf8mb4" in script
    assert "--lower-case-table-names=1" in script
    # The names the pipeline gives them (sidecar_containers._init_archive) are the script's.
    target = sql_dumps.target_name(0, "db/library.sql", loader=True)
    assert f'"$SIDECAR:/docker-entrypoint-initdb.d/00-"{target.removeprefix("00-")} ' in script
    assert f"/docker-entrypoint-initdb.d/{sql_dumps.LOADER_NAME}" in script
    assert "--force" in script and "-e DB_NAME=library" in script


@pytest.mark.parametrize(
    ("log", "error"),
    [
        ("java.sql.SQLSyntaxErrorException: Table 'ry.sys_config' doesn't exist\n\tat x", "Table 'ry.sys_config'"),
        ("Caused by: com.mysql.cj.exceptions.CJException: Access denied for user 'root'@'127.0.0.1'", "Access denied"),
        ("sqlalchemy.exc.ProgrammingError: (1146, \"Table 'app.items' doesn't exist\")", "Table 'app.items'"),
        ('error: relation "users" does not exist', 'relation "users"'),
    ],
)
def test_a_service_that_crashes_on_its_databases_error_says_so(log, error):
    failure = repair.classify(log, "start")
    assert failure.failure_class == repair.FailureClass.database_error
    assert error in failure.detail["error"]


def test_cannot_connect_is_still_a_missing_server():
    failure = repair.classify('pymysql.err.OperationalError: (2003, "Can\'t connect to MySQL server")', "start")
    assert failure.failure_class == repair.FailureClass.needs_service


# ----------------------------------------------------------------------------- Docker


def _query(container, database: str, sql: str) -> str:
    code, output = container.exec_run(
        ["mariadb", "-uroot", f"-p{sidecars.DEFAULT_PASSWORD}", "-N", "-B", database, "-e", sql]
    )
    assert code == 0, output
    return output.decode().strip()


@pytest.mark.docker
def test_a_mysql_8_dump_loads_into_the_mariadb_sidecar_and_what_fails_is_a_warning(docker_engine, tmp_path):
    """The fixture's dump loads whole (its collations mapped, its long row cut, its own
    database made); a statement no server of the kind would take is reported, and the
    sidecar still starts with every table that loaded."""
    root = tmp_path / "service"
    (root / "db").mkdir(parents=True)
    (root / "db" / "library.sql").write_text((LIBRARY / "db" / "library.sql").read_text())
    (root / "db" / "zz-extra.sql").write_text(
        "USE `library`;\nCREATE TABLE `loans` (`id` int) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;\n"
        "CREATE TABLE broken (id int) ENGINE=NoSuchEngine STRICT_NONSENSE;\n"
        "INSERT INTO `loans` VALUES (7);\n"
    )
    (need,) = sidecars.detect(LIBRARY, ".")
    sidecar = sidecars.sidecar_for(need).model_copy(update={"init_files": ["db/library.sql", "db/zz-extra.sql"]})
    client = docker_engine
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    labels = {sandbox.LABEL: "1", sandbox.RUN_LABEL: run_id}
    name = f"abc-{run_id}"
    network = client.networks.create(name, driver="bridge", labels=labels)
    started: list = []
    warnings: list[str] = []
    try:
        owner = sidecar_containers.start(
            client,
            [sidecar],
            name=name,
            labels=labels,
            network=network.name,
            published_port=5000,
            files_root=root,
            started=started,
            warnings=warnings,
        )
        assert _query(owner, "library", "SELECT title FROM books WHERE id = 1") == "The Library of Babel, an"
        assert _query(owner, "library", "SELECT COUNT(*) FROM loans") == "1"
        # Table names ignore case, as on the Windows or macOS MySQL a service was written on.
        assert _query(owner, "library", "SELECT COUNT(*) FROM BOOKS") == "1"
        collation = (
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_NAME='books' AND COLUMN_NAME='isbn'"
        )
        assert _query(owner, "library", collation) == "utf8mb4_bin"
        assert _query(owner, "library", "SELECT @@GLOBAL.sql_mode") == "NO_ENGINE_SUBSTITUTION"
        assert len(warnings) == 1 and warnings[0].startswith("mysql: 01-zz-extra.sql: 1 statement(s) failed")
    finally:
        for container in started:
            container.remove(force=True)
        network.remove()
    assert sandbox.leftovers(run_id) == []


@pytest.mark.docker
def test_a_pg_dump_whose_owner_role_is_missing_still_loads_into_the_postgres_sidecar(docker_engine, tmp_path):
    """pg_dump's `OWNER TO postgres` names a role the sidecar (made with the service's user)
    lacks: psql's strict init stopped there; the loader goes on and reports it."""
    root = _write(
        tmp_path / "service",
        {
            "package.json": '{"dependencies": {"pg": "^8"}}',
            "db/dump.sql": (
                "SET statement_timeout = 0;\nCREATE TABLE public.notes (id integer NOT NULL, title text);\n"
                "ALTER TABLE public.notes OWNER TO postgres;\n"
                "COPY public.notes (id, title) FROM stdin;\n1\tfirst note\n\\.\n"
            ),
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert (need.kind.name, need.init_files) == ("postgresql", ["db/dump.sql"])
    sidecar = sidecars.sidecar_for(need)
    client = docker_engine
    run_id = f"test-{uuid.uuid4().hex[:10]}"
    labels = {sandbox.LABEL: "1", sandbox.RUN_LABEL: run_id}
    network = client.networks.create(f"abc-{run_id}", driver="bridge", labels=labels)
    started: list = []
    warnings: list[str] = []
    try:
        owner = sidecar_containers.start(
            client,
            [sidecar],
            name=f"abc-{run_id}",
            labels=labels,
            network=network.name,
            published_port=3000,
            files_root=root,
            started=started,
            warnings=warnings,
        )
        code, output = owner.exec_run(
            ["psql", "-h", "127.0.0.1", "-U", "app", "-d", "app", "-tAc", "SELECT title FROM notes WHERE id = 1"]
        )
        assert (code, output.decode().strip()) == (0, "first note")
        assert len(warnings) == 1 and 'role "postgres" does not exist' in warnings[0], warnings
    finally:
        for container in started:
            container.remove(force=True)
        network.remove()
    assert sandbox.leftovers(run_id) == []
