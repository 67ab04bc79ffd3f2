"""Which servers a service needs and how it is told where they are (pipeline/stages/sidecars.py),
the repair that starts one when a start log asks for it, and the run-tests.sh block that
starts them in a task. No Docker: tests/test_sidecar_fixtures.py runs them for real."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipeline.config import Limits
from pipeline.models import EnvSpec, Verdict
from pipeline.runtime import sidecar_containers
from pipeline.stages import repair, sidecars
from pipeline.stages.package import run_tests_script

FIXTURES = Path(__file__).parent / "fixtures"


def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _spec(language: str = "javascript") -> EnvSpec:
    return EnvSpec(
        service_root=".",
        language=language,
        framework="express",
        base_image="node:18-bookworm-slim",
        dockerfile='FROM node:18-bookworm-slim\nENV PORT="3000"\nEXPOSE 3000\nCMD ["node", "server.js"]\n',
        port=3000,
        start_command=["node", "server.js"],
    )


def test_a_driver_in_the_manifest_and_a_schema_file_make_a_postgres_sidecar():
    needs = sidecars.detect(FIXTURES / "express_pg_notes", ".")
    assert [n.kind.name for n in needs] == ["postgresql"]
    assert needs[0].init_files == ["db/schema.sql"]
    assert "pg in package.json" in needs[0].reasons


def test_redis_py_in_requirements_makes_a_redis_sidecar_wired_through_the_variable_the_code_reads():
    root = FIXTURES / "flask_redis_scores"
    needs = sidecars.detect(root, ".")
    assert [n.kind.name for n in needs] == ["redis"]
    variables = sidecars.service_variables(needs, sidecars.mentioned_names(root, "python"), "python")
    assert variables["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_no_server_for_a_service_that_needs_none():
    assert sidecars.detect(FIXTURES / "flask_todo", ".") == []
    assert sidecars.detect(FIXTURES / "express_books", ".") == []


def test_a_compose_file_names_the_server_its_credentials_and_its_init_sql(tmp_path):
    root = _write(
        tmp_path,
        {
            "docker-compose.yml": (
                "services:\n"
                "  api:\n    build: .\n    environment:\n      - DATABASE_URL=postgres://shop:pw@db:5432/shop\n"
                "  db:\n    image: postgres:16-alpine\n    environment:\n"
                "      POSTGRES_USER: shop\n      POSTGRES_DB: shopdb\n      POSTGRES_PASSWORD: pw\n"
                "    volumes:\n      - ./sql:/docker-entrypoint-initdb.d\n"
            ),
            "sql/01-tables.sql": "CREATE TABLE t (id int);\n",
            "sql/02-seed.sql": "INSERT INTO t VALUES (1);\n",
            "sql/readme.md": "not run\n",
            "app.py": "import os\nURL = os.environ['DATABASE_URL']\nHOST = os.environ.get('DB_HOST')\n",
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert need.kind.name == "postgresql"
    assert (need.user, need.database) == ("shop", "shopdb")
    assert need.init_files == ["sql/01-tables.sql", "sql/02-seed.sql"]
    sidecar = sidecars.sidecar_for(need)
    # The compose file's password is the repository's; the sidecar trusts any password.
    assert sidecar.env["POSTGRES_USER"] == "shop" and sidecar.env["POSTGRES_HOST_AUTH_METHOD"] == "trust"
    assert sidecar.env["POSTGRES_PASSWORD"] == sidecars.DEFAULT_PASSWORD
    variables = sidecars.service_variables([need], sidecars.mentioned_names(root, "python"), "python")
    assert variables["DATABASE_URL"] == f"postgresql://shop:{sidecars.DEFAULT_PASSWORD}@127.0.0.1:5432/shopdb"
    assert variables["DB_HOST"] == "127.0.0.1"
    # `db` is what the compose network resolves (the service's own URL says so too).
    assert sidecar.hosts == ["db"]


def test_the_database_a_compose_file_runs_outranks_another_driver_in_the_manifest(tmp_path):
    """An ORM's go.mod names every dialect's driver; the compose file says which database it is."""
    root = _write(
        tmp_path,
        {
            "docker-compose.yml": (
                "services:\n  db:\n    image: mysql:5.7\n    environment:\n"
                "      - MYSQL_DATABASE=mail_prod\n  api:\n    build: ./api\n"
            ),
            "api/go.mod": (
                "module x\n\ngo 1.19\n\nrequire (\n\tgithub.com/lib/pq v1.10.0\n"
                "\tgithub.com/go-sql-driver/mysql v1.7.0\n)\n"
            ),
            "api/main.go": 'package main\n\nimport "os"\n\nvar name = os.Getenv("APP_DB_NAME")\n',
        },
    )
    needs = sidecars.detect(root, "api")
    assert [n.kind.name for n in needs] == ["mysql"]
    variables = sidecars.service_variables(needs, sidecars.mentioned_names(root / "api", "go"), "go")
    assert variables["APP_DB_NAME"] == "mail_prod"


def test_a_hard_coded_compose_host_resolves_to_the_sidecar(tmp_path):
    root = _write(
        tmp_path,
        {
            "docker-compose.yml": "services:\n  store:\n    image: redis:7\n    hostname: kv\n",
            "main.go": 'package main\n\nconst dsn = "user:pw@tcp(sqlhost)/app"\nvar cache = "redis://store:6379"\n',
            "config.yml": "db: mysql://app@database:3306/app\n",
        },
    )
    hosts = {need.kind.name: need.hosts for need in sidecars.detect(root, ".")}
    assert sorted(hosts["redis"]) == ["kv", "store"]
    assert hosts["mysql"] == ["database"]  # a local name in a URL; `sqlhost` is no compose service
    assert sidecars.sidecar_for(sidecars.detect(root, ".")[-1]).hosts == ["kv", "store"]


def test_a_url_in_the_code_names_the_server_and_its_database(tmp_path):
    root = _write(
        tmp_path,
        {"index.js": "const url = process.env.MYSQL_URL || 'mysql://root@localhost:3306/inventory';\n"},
    )
    (need,) = sidecars.detect(root, ".")
    assert (need.kind.name, need.user, need.database) == ("mysql", "root", "inventory")
    sidecar = sidecars.sidecar_for(need)
    assert "MARIADB_USER" not in sidecar.env  # the official image refuses MARIADB_USER=root
    assert sidecar.env["MARIADB_DATABASE"] == "inventory" and sidecar.image == "mariadb:10.11"


def test_urls_in_examples_templates_and_data_files_are_not_the_services_setup(tmp_path):
    """A repository of templates names every database in its examples and JSON data; only
    the service's own code and configuration say what it needs."""
    root = _write(
        tmp_path,
        {
            "app.py": "from flask import Flask\napp = Flask(__name__)\n",
            "examples/orm.py": "URL = 'postgresql://user@localhost:5432/demo'\n",
            "components/mcps/mysql-integration.json": '{"url": "mysql://root@localhost:3306/db"}\n',
            "catalog/redis-agent.json": '{"hint": "redis://localhost:6379"}\n',
        },
    )
    assert sidecars.detect(root, ".") == []
    (root / "config").mkdir()
    (root / "config" / "default.json").write_text('{"db": "postgres://shop@localhost:5432/shop"}\n')
    (need,) = sidecars.detect(root, ".")
    assert (need.kind.name, need.database) == ("postgresql", "shop")


def test_a_url_to_a_remote_host_is_not_a_sidecar(tmp_path):
    root = _write(tmp_path, {"index.js": "const url = 'postgres://u@db.example.com:5432/prod';\n"})
    assert sidecars.detect(root, ".") == []


@pytest.mark.parametrize(
    ("name", "role"),
    [
        ("DATABASE_URL", "url"),
        ("SQLALCHEMY_DATABASE_URI", "url"),
        ("DB_HOST", "host"),
        ("DB_HOSTNAME", "host"),
        ("DB_PORT", "port"),
        ("DB_USERNAME", "user"),
        ("DB_PASS", "password"),
        ("DB_NAME", "database"),
        ("DB_DATABASE", "database"),
        ("POSTGRES_DB", "database"),
        ("POSTGRES_DB_HOST", "host"),
        ("DB_POOL_SIZE", None),
        ("DB_CONNECTION", None),  # Laravel's driver name, not an address
        ("SECRET_KEY", None),
        # a switch that acts on the database (ashirt-server's bool APP_SEED_DATABASE)
        ("APP_SEED_DATABASE", None),
        ("RESET_DB", None),
    ],
)
def test_a_variable_name_says_which_part_of_the_address_it_holds(name, role):
    assert sidecars._role(name, ("POSTGRES", "PG", "DB", "DATABASE", "SQL")) == role


def test_libpq_variables_and_spring_properties(tmp_path):
    need = sidecars.Need(sidecars.KINDS["postgresql"])
    values = sidecars.service_variables([need], {"PGHOST", "PGPASSWORD"}, "javascript")
    assert values["PGHOST"] == "127.0.0.1" and values["PGPASSWORD"] == sidecars.DEFAULT_PASSWORD
    spring = sidecars.service_variables([need], set(), "java")
    assert spring["SPRING_DATASOURCE_URL"] == "jdbc:postgresql://127.0.0.1:5432/app"


def test_go_gets_mysqls_address_as_go_sql_driver_reads_it():
    """go-sql-driver reads `user:password@tcp(host:port)/db`; given a URL it takes the host
    for a network name (ashirt-server: "default addr for network '127.0.0.1:3306' unknown")."""
    need = sidecars.Need(sidecars.KINDS["mysql"])
    values = sidecars.service_variables([need], {"DB_URI"}, "go")
    assert values["DB_URI"] == f"app:{sidecars.DEFAULT_PASSWORD}@tcp(127.0.0.1:3306)/app"
    assert values["DATABASE_URL"] == values["DB_URI"]
    assert sidecars.service_variables([need], {"DB_URI"}, "python")["DB_URI"].startswith("mysql://")


def test_redis_is_never_sent_a_password_it_does_not_have():
    need = sidecars.Need(sidecars.KINDS["redis"])
    values = sidecars.service_variables([need], {"REDIS_HOST", "REDIS_PASSWORD"}, "python")
    assert values["REDIS_HOST"] == "127.0.0.1" and "REDIS_PASSWORD" not in values


def test_mongodb_gets_ferretdb_which_speaks_its_protocol(tmp_path):
    root = _write(
        tmp_path,
        {
            "package.json": '{"dependencies": {"express": "^4", "mongoose": "^8"}}',
            "db.js": "mongoose.connect(process.env.MONGO_URI || 'mongodb://localhost:27017/shop');\n",
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert (need.kind.name, need.database) == ("mongodb", "shop")
    spec = sidecars.attach(_spec(), [need], sidecars.mentioned_names(root, "javascript"))
    (sidecar,) = spec.sidecars
    assert sidecar.image.startswith("ghcr.io/ferretdb/ferretdb:")
    assert sidecar.env["FERRETDB_HANDLER"] == "sqlite"
    # FerretDB on SQLite checks no password: the URL carries none.
    assert sidecar.service_env["MONGO_URI"] == "mongodb://127.0.0.1:27017/shop"


def _start_failure(log: str) -> repair.TryResult:
    return repair.TryResult(ok=False, phase="start", log=log, verdict=Verdict.service_crashed)


def test_a_start_log_that_asks_for_postgres_gets_one_beside_it():
    logs = iter(["Error: connect ECONNREFUSED 127.0.0.1:5432\n", ""])
    tried: list[EnvSpec] = []

    def try_once(spec: EnvSpec) -> repair.TryResult:
        tried.append(spec)
        log = next(logs)
        return _start_failure(log) if log else repair.TryResult(ok=True, phase="start", log="")

    facts = repair.ServiceFacts(language="javascript", framework="express", env_names={"DATABASE_URL"})
    outcome = repair.run_attempts(_spec(), facts, try_once, strategy=repair.RuleBasedStrategy(), max_repairs=2)
    assert outcome.ok
    assert [s.kind for s in tried[1].sidecars] == ["postgresql"]
    assert tried[1].sidecars[0].service_env["DATABASE_URL"].startswith("postgresql://")


def test_a_server_with_no_image_here_ends_service_unavailable_with_the_reason(monkeypatch):
    import dataclasses

    imageless = dataclasses.replace(sidecars.KINDS["mongodb"], image=None, unavailable="no image of it here")
    monkeypatch.setitem(sidecars.KINDS, "mongodb", imageless)
    facts = repair.ServiceFacts(language="javascript", framework="express")
    outcome = repair.run_attempts(
        _spec(),
        facts,
        lambda spec: _start_failure("MongooseServerSelectionError: connect ECONNREFUSED 127.0.0.1:27017"),
        strategy=repair.RuleBasedStrategy(),
        max_repairs=2,
    )
    assert not outcome.ok and outcome.verdict == Verdict.service_unavailable
    assert "no image of it here" in outcome.reason


def _script(spec: EnvSpec) -> str:
    return run_tests_script(
        task_id="local_x__notes",
        repo_dir="Local_x",
        service_root=".",
        port=3000,
        health_path="/health",
        limits=Limits(),
        group="notes",
        client_base_image="python:3.11-slim-bookworm",
        test_requirements=[],
        sidecars=spec.sidecars,
        service_env=sidecars.run_env(spec),
        sidecar_limits=sidecar_containers.LIMITS,
    )


def test_run_tests_starts_the_sidecars_before_the_service_and_removes_them(tmp_path):
    spec = sidecars.attach(
        _spec(),
        sidecars.detect(FIXTURES / "express_pg_notes", ".") + [sidecars.Need(sidecars.KINDS["redis"])],
        {"DATABASE_URL"},
    )
    script = _script(spec)
    path = tmp_path / "run-tests.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    first, second, service = (
        script.index('SIDECAR="$NAME-postgresql"'),
        script.index('SIDECAR="$NAME-redis"'),
        script.index('docker run -d --name "$NAME"'),
    )
    assert first < second < service
    assert 'docker cp "$REPO_DIR/$SERVICE_ROOT/"db/schema.sql' in script
    assert "-e DATABASE_URL=postgresql://app:dummy-db-password@127.0.0.1:5432/app" in script
    assert 'for sidecar in ${SIDECARS[@]+"${SIDECARS[@]}"}; do docker rm -f' in script
    assert 'wait_sidecar "$SIDECAR" postgresql pg_isready -h 127.0.0.1' in script


def test_run_tests_makes_the_compose_host_names_resolve_where_the_service_looks(tmp_path):
    spec = sidecars.attach(_spec(), sidecars.detect(FIXTURES / "flask_compose_host_notes", "."), set())
    script = _script(spec)
    path = tmp_path / "run-tests.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    # Inside a harness's container: its hosts file, which the joined service reads.
    assert 'echo "127.0.0.1 cache" >>/etc/hosts' in script
    # On a plain host: the first sidecar owns the namespace and its hosts file.
    assert "HOST_ARGS=(--add-host cache:127.0.0.1 )" in script
    assert '"${NETWORK_ARGS[@]}" ${HOST_ARGS[@]+"${HOST_ARGS[@]}"}' in script


def test_run_tests_without_sidecars_has_no_sidecar_block():
    script = _script(_spec())
    assert "wait_sidecar" not in script and "docker create" not in script


def test_migrations_move_from_the_build_to_the_start_when_the_database_is_a_sidecar():
    from pipeline.languages.framework import RuntimeHints
    from pipeline.languages.toolchain import Toolchain
    from pipeline.stages.environment import _migrate_at_start

    tc = Toolchain.model_validate(
        {
            "language": "python",
            "package_manager": "pip",
            "base_image": "python:3.11-slim-bookworm",
            "start_command": ["gunicorn", "site.wsgi"],
            "default_port": 8000,
            "setup_commands": ["python manage.py collectstatic --noinput", "python manage.py migrate --noinput"],
        }
    )
    hints = RuntimeHints(start_command=["gunicorn", "-b", "0.0.0.0:8000", "site.wsgi"], port=8000)
    tc2, hints2 = _migrate_at_start(tc, hints)
    assert tc2.setup_commands == hints2.setup_commands == ["python manage.py collectstatic --noinput"]
    assert hints2.start_command == [
        "sh",
        "-c",
        "python manage.py migrate --noinput && exec gunicorn -b 0.0.0.0:8000 site.wsgi",
    ]


def test_spring_datasource_properties_name_a_mysql_server_and_spring_is_wired(tmp_path):
    root = _write(
        tmp_path,
        {
            "pom.xml": "<project><dependencies><dependency><groupId>com.mysql</groupId>"
            "<artifactId>mysql-connector-j</artifactId></dependency></dependencies></project>",
            "src/main/resources/application.properties": (
                "spring.datasource.url=jdbc:mysql://${DB_HOST:localhost}:3306/moneynote?useSSL=false\n"
                "spring.datasource.username=${DB_USER:root}\n"
            ),
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert (need.kind.name, need.database) == ("mysql", "moneynote")
    assert "mysql-connector-j in pom.xml" in need.reasons
    values = sidecars.service_variables([need], sidecars.mentioned_names(root, "java"), "java")
    assert values["SPRING_DATASOURCE_URL"] == "jdbc:mysql://127.0.0.1:3306/moneynote"
    assert values["DB_HOST"] == "127.0.0.1" and values["DB_USER"] == "app"


def test_a_service_that_signs_in_to_mongodb_gets_ferretdb_with_that_user():
    need = sidecars.Need(sidecars.KINDS["mongodb"])
    names = {"MONGO_USERNAME", "MONGO_PASSWORD", "MONGO_HOSTNAME", "MONGO_PORT", "MONGO_DATABASE_NAME"}
    (sidecar,) = sidecars.attach(_spec(), [need], names).sidecars
    assert sidecar.env["FERRETDB_TEST_ENABLE_NEW_AUTH"] == "true"
    assert sidecar.env["FERRETDB_SETUP_USERNAME"] == sidecar.service_env["MONGO_USERNAME"] == "app"
    assert sidecar.env["FERRETDB_SETUP_PASSWORD"] == sidecar.service_env["MONGO_PASSWORD"]
    assert sidecar.service_env["MONGO_HOSTNAME"] == "127.0.0.1" and sidecar.service_env["MONGO_PORT"] == "27017"
    assert sidecar.service_env["MONGO_DATABASE_NAME"] == "app"
    assert sidecar.service_env["MONGODB_URI"].endswith("@127.0.0.1:27017/app?authSource=admin")


def test_a_service_with_sql_migrations_gets_no_dump_and_a_query_file_is_never_one(tmp_path):
    """A real Go service (golang-migrate over embedded `migrations/postgres/*.sql`) also keeps
    sqlc's schema dump and query file: both were loaded into its PostgreSQL, its own
    migrations then failed on tables and functions that existed already. A service with a
    migrations folder makes its own schema; sqlc's `-- name: X :one` files are no dump."""
    url = "postgres://app:pw@localhost:5432/app"
    root = _write(
        tmp_path / "migrates",
        {
            "go.mod": "module x\n\nrequire github.com/lib/pq v1.10.9\n",
            "main.go": f'package main\n\nconst dsn = "{url}"\n',
            "migrations/postgres/00001_init.up.sql": "CREATE TABLE users (id int);\n",
            "sql/schema_dump.sql": "CREATE TABLE users (id int);\nCREATE TABLE tokens (id int);\n",
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert (need.kind.name, need.init_files) == ("postgresql", [])
    queries = _write(
        tmp_path / "queries",
        {
            "go.mod": "module x\n\nrequire github.com/lib/pq v1.10.9\n",
            "main.go": f'package main\n\nconst dsn = "{url}"\n',
            "db/app.sql": "CREATE TABLE users (id int);\n",
            "db/query.sql": "-- name: GetUser :one\nSELECT * FROM users WHERE id = $1;\n"
            + "CREATE TABLE x (id int);\n" * 3,
        },
    )
    (need,) = sidecars.detect(queries, ".")
    assert "db/query.sql" not in need.init_files and "db/app.sql" in need.init_files


def test_a_dump_under_another_name_loads_a_sql_sidecar_unless_the_service_runs_it_itself(tmp_path):
    """No file by a known schema name: the SQL file that creates the most tables, outside the
    folders whose scripts the service runs itself (migrations, resources/) or never (tests),
    not one a path says is another database's dialect. (A dump that creates its own
    database: tests/test_sidecar_dumps.py.)"""
    create = "CREATE TABLE a (id int);\ncreate  table b (id int);\n"
    root = _write(
        tmp_path,
        {
            "pom.xml": "<project><dependencies><dependency>"
            "<artifactId>mysql-connector-j</artifactId></dependency></dependencies></project>",
            "lib/shop.sql": create,
            "docs/one-table.sql": "create table c (id int);\n",
            "sql/postgres/shop.sql": create * 3,
            "src/main/resources/db/migration/V1__init.sql": create * 3,
            "src/test/sql/fixtures.sql": create * 3,
        },
    )
    (need,) = sidecars.detect(root, ".")
    assert (need.kind.name, need.init_files) == ("mysql", ["lib/shop.sql"])
