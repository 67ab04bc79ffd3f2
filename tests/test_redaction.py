"""Redaction, proven: every secret planted in a buildable app is gone from the emitted
tasks, the service still starts on the placeholders, and metadata.json reports each one.
The pattern tests need no Docker; the end-to-end ones generate the fixture for real."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml
from detect_secrets.plugins.base import BasePlugin
from task_support import FIXTURES, PLANTED, PLANTED_SECRETS, planted_tasks, task_dirs

from pipeline.stages import redact, secret_scan

PLANTED_FILES = {".env", "config/settings.py", "config/ci.json", "config/deploy_key.pem"}


def test_every_planted_secret_is_replaced_in_place(tmp_path):
    tree = tmp_path / "repo"
    shutil.copytree(PLANTED, tree)
    report = redact.redact_tree(tree)

    text = "".join(p.read_text() for p in tree.rglob("*") if p.is_file())
    left = [what for what, value in PLANTED_SECRETS.items() if value in text]
    assert left == []
    assert redact.leftover_secrets(tree, skip=()) == []
    kinds = {(f.file, f.type) for f in report.findings}
    assert ("config/ci.json", "GitHub Token") in kinds
    assert ("config/deploy_key.pem", "Private Key") in kinds
    assert ("config/settings.py", "URL Password") in kinds
    assert {f.file for f in report.findings} >= {
        ".env",
        "config/settings.py",
        "config/ci.json",
        "config/deploy_key.pem",
    }

    # Placeholders keep the shape the code relies on.
    settings = (tree / "config" / "settings.py").read_text()
    url = next(line.split('"')[1] for line in settings.splitlines() if line.startswith("DATABASE_URL"))
    parsed = urlsplit(url)
    assert (parsed.scheme, parsed.hostname, parsed.username, parsed.password) == (
        "postgres",
        "db.internal",
        "notes_admin",
        redact.URL_PASSWORD_PLACEHOLDER,
    )
    assert f'JWT_SECRET = "{redact.PLACEHOLDER}"' in settings
    assert 'AWS_REGION = "eu-west-1"' in settings and 'JWT_ALGORITHM = "HS256"' in settings
    assert json.loads((tree / "config" / "ci.json").read_text())["branch"] == "main"
    assert "PORT=8000" in (tree / ".env").read_text()


def test_names_that_only_look_secret_are_left_alone(tmp_path):
    source = (
        'TOKEN_HEADER = "Authorization"\n'
        'password = request.json["password"]\n'
        'secret = os.environ.get("JWT_SECRET", "")\n'
    )
    (tmp_path / "app.py").write_text(source)
    (tmp_path / "package.json").write_text('{"dependencies": {"js-tokens": "^4.0.0"}}\n')
    # An empty secret is not a secret, and the next line is not its value.
    (tmp_path / ".env").write_text("APP_SECRET=\nSHOP_CURRENCY=EUR\n")
    report = redact.redact_tree(tmp_path)
    assert report.findings == []
    assert (tmp_path / "app.py").read_text() == source
    assert (tmp_path / ".env").read_text() == "APP_SECRET=\nSHOP_CURRENCY=EUR\n"


def test_type_checks_and_url_paths_are_not_secrets(tmp_path):
    # `typeof password !== 'string'` replaced would make every sign-up fail its check, and a
    # token endpoint's path (FastAPI's `tokenUrl=`) is where a client signs in, not a secret.
    js = "if (typeof password !== 'string' || password.length < 8) {\n  return;\n}\n"
    py = 'oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/auth/token")\n'
    (tmp_path / "signup.js").write_text(js)
    (tmp_path / "security.py").write_text(py)
    assert redact.redact_tree(tmp_path).findings == []
    assert (tmp_path / "signup.js").read_text() == js and (tmp_path / "security.py").read_text() == py
    # A literal compared with a password is still one.
    (tmp_path / "login.js").write_text("if (password === 'hunter2-Secret') { admin(); }\n")
    assert [f.file for f in redact.redact_tree(tmp_path).findings] == ["login.js"]


def test_migration_revision_ids_are_kept(tmp_path):
    # Alembic chains migrations by these ids: replacing one breaks `alembic upgrade`.
    source = (
        '"""add notes\n\nRevision ID: 3f2c9d1ab7e4\nRevises: 9b41ce07d2aa\n"""\n'
        'revision = "3f2c9d1ab7e4"\n'
        'down_revision: str | None = "9b41ce07d2aa"\n'
    )
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (versions / "3f2c9d1ab7e4_add_notes.py").write_text(source)
    assert redact.redact_tree(tmp_path).findings == []
    assert (versions / "3f2c9d1ab7e4_add_notes.py").read_text() == source


def test_the_pipelines_own_dummy_values_are_not_secrets(tmp_path):
    # What the environment stage writes for configuration a service insists on (a Django
    # SECRET_KEY, a token the code reads) must not reject the task it is part of.
    (tmp_path / "Dockerfile").write_text(
        "FROM python:3.11-slim-bookworm\n"
        'ENV DJANGO_SECRET_KEY="dummy-django_secret_key-for-local-runs-only-0123456789abcdef"\n'
        'ENV GITHUB_CLIENT_SECRET="dummy-GITHUB_CLIENT_SECRET" API_TOKEN=dummy-API_TOKEN\n'
    )
    # The environment variant's instruction lists them (detect-secrets reports a neighbour).
    # As package writes it: a multi-line YAML string, which detect-secrets reports at line 1.
    instruction = (
        "Implement the endpoints.\n\n## Environment\n\n"
        + "More words here. " * 20
        + (
            "\n- set the variables the service reads at start: "
            "`DJANGO_SECRET_KEY=dummy-django_secret_key-for-local-runs-only-0123456789abcdef`, `PORT=8000`;\n"
        )
    )
    (tmp_path / "task.yaml").write_text(yaml.safe_dump({"instruction": instruction}, width=100))
    assert redact.leftover_secrets(tmp_path) == []
    (tmp_path / "task.yaml").unlink()
    # ...while a real-looking value on the same kind of line still is one.
    (tmp_path / "Dockerfile").write_text('ENV DJANGO_SECRET_KEY="k8Yq2vW9xLp3Rt7Zb1Nc5Md0Fg4Hj6Ks"\n')
    assert {f.file for f in redact.leftover_secrets(tmp_path)} == {"Dockerfile"}


def test_a_reference_with_a_plain_default_in_a_start_command_is_no_secret(tmp_path):
    # The environment variant's instruction quotes the start command, whose datasource
    # wiring keeps the (already redacted) configuration's default, beside the variables it
    # lists (allanzhuo/yyblog: four environment variants were rejected for it).
    def instruction(password: str) -> str:
        return (
            "Implement the endpoints.\n\n## Environment\n\n"
            + "More words here. " * 20
            + "\n- start it with `java -jar target/app.jar"
            " --spring.datasource.druid.password=${SPRING_DATASOURCE_PASSWORD:xxxx}`;\n"
            f"- set the variables the service reads at start: `SPRING_DATASOURCE_PASSWORD={password}`;\n"
        )

    (tmp_path / "task.yaml").write_text(yaml.safe_dump({"instruction": instruction("dummy-db-password")}, width=100))
    assert redact.leftover_secrets(tmp_path) == []
    # A real-looking value on the same lines is still one.
    (tmp_path / "task.yaml").write_text(yaml.safe_dump({"instruction": instruction("k8Yq2vW9xLp3Rt7Zb1Nc")}, width=100))
    assert [f.file for f in redact.leftover_secrets(tmp_path)] == ["task.yaml"]


def test_an_instructions_own_words_beside_placeholders_are_no_secret(tmp_path):
    # A signed-in group's environment variant says what its endpoints answer "Without
    # credentials: answers `200` ..." and lists the sidecar's dummy password: a multi-line
    # YAML string is judged whole, and the prose's "answers" made moneynote's two signed-in
    # environment variants `secret_unredactable`.
    def instruction(password: str) -> str:
        return (
            "Implement the endpoints.\n\n### `GET /api/v1/book-templates`\n\n"
            "- Without credentials: answers `200` with a JSON object containing `code`, `message`.\n\n"
            "## Environment\n\n"
            + "More words here. " * 20
            + f"\n- reach mysql at `127.0.0.1:3306`: `DB_NAME=app`, `DB_PASSWORD={password}`, `DB_PORT=3306`;\n"
        )

    (tmp_path / "task.yaml").write_text(yaml.safe_dump({"instruction": instruction("dummy-db-password")}, width=100))
    assert redact.leftover_secrets(tmp_path) == []
    (tmp_path / "task.yaml").write_text(yaml.safe_dump({"instruction": instruction("k8Yq2vW9xLp3Rt7Zb1Nc")}, width=100))
    assert [f.file for f in redact.leftover_secrets(tmp_path)] == ["task.yaml"]


@pytest.mark.docker
def test_emitted_tasks_carry_no_planted_secret(docker_engine, tmp_path_factory):
    result, out = planted_tasks(tmp_path_factory)
    dirs = task_dirs(result)
    # The service reads the JWT secret and the database URL at start: it started on the
    # placeholders, or no task would have verified.
    assert set(dirs) == {(k, f) for k in ("implementation", "environment") for f in ("terminal-bench", "harbor")}, (
        result.model_dump_json(indent=2)
    )

    leftovers = []
    for path in out.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leftovers += [
                f"{what} in {path.relative_to(out)}" for what, v in PLANTED_SECRETS.items() if v.encode() in data
            ]
    assert leftovers == []

    metadata = json.loads((dirs[("implementation", "terminal-bench")] / "metadata.json").read_text())
    reported = {(f["file"], f["type"]) for f in metadata["redaction_report"]["findings"]}
    assert {file for file, _ in reported} >= PLANTED_FILES
    assert ("config/deploy_key.pem", "Private Key") in reported
    # The report says where and what, never the value.
    assert not any(v in json.dumps(metadata) for v in PLANTED_SECRETS.values())


def test_a_finding_that_cannot_be_located_leaves_its_file_out_and_says_so(tmp_path):
    # detect-secrets parses YAML and reports an unescaped value that is nowhere in the text
    # (seen on a CI pipeline file of a real repository): the file goes, the rest stays.
    (tmp_path / "pipeline.yaml").write_text(
        "steps:\n"
        "  - task: AzureCLI@2\n"
        "    inputs:\n"
        "      inlineScript: |\n"
        "        Set-StrictMode -Version Latest\n"
        '        Write-Host "##vso[task.setvariable issecret=true;variable=BEARER_TOKEN]'
        '$(az account get-access-token --query "accessToken" --output tsv)"\n'
    )
    (tmp_path / "app.py").write_text("print('hello')\n")
    report = redact.redact_tree(tmp_path)
    assert report.removed_files == ["pipeline.yaml"]
    assert not (tmp_path / "pipeline.yaml").exists() and (tmp_path / "app.py").is_file()
    assert redact.leftover_secrets(tmp_path) == []


# --------------------------------------------------------------------------- fast scan


def _same_as_detect_secrets(root, workers=1):
    """The fast scan's findings, checked against detect-secrets' own file-by-file scan."""
    files = redact._text_files(root)
    plain = secret_scan.findings(secret_scan.plain_scan_files(root, files))
    fast = secret_scan.findings(secret_scan.scan_files(root, files, workers=workers))
    assert fast == plain
    return {(Path(name).relative_to(root).as_posix(), line, kind) for name, line, kind, _ in fast}


def _tricky_tree(root):
    """Secrets detect-secrets only sees through its transformers, or case-folded."""
    # YAML: the value is unquoted; its YAML transformer writes `password: "..."`, which
    # the high-entropy plugin (quotes required) then sees.
    (root / "deploy.yaml").write_text(
        "database:\n  host: db.internal\n  password: 9fKq2Lx7Vb3Nz8Rt5Wy1Hj4Mc6Pd0Sa\nnotes: |\n  rotate monthly\n"
    )
    (root / "README.md").write_text("Set up the CLI:\n\n    export AWS_ACCESS_KEY_ID=AKIAZ7Q3R5T9W2Y4U6P8\n")
    # INI: its config transformer quotes the value too.
    (root / "app.ini").write_text(
        "[service]\nurl = https://example.org\nsigning = Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZg\n"
    )
    # No section: only its eager config transformer, on a second pass, quotes it.
    (root / "notes.txt").write_text("signing = Zx8Kp2Lq9Wm4Rt7Yv3Bn6Hc1Js5Df0Ga\n")
    # re.IGNORECASE matches the long s with "s" and the Kelvin sign with "k" (and folding
    # must keep every character in place: an i with a combining dot, a dotted capital I).
    (root / "keys.py").write_text('# i\u0307\npa\u017f\u017fword = "hunter2hunter2"\n')
    (root / "settings.py").write_text('# \u0130stanbul office\napi_\u212aey = "hunter3hunter3"\n')


def test_the_fast_scan_finds_what_detect_secrets_finds(tmp_path):
    assert ("config/ci.json", 3, "GitHub Token") in _same_as_detect_secrets(PLANTED)
    _same_as_detect_secrets(FIXTURES / "log_secrets_app")
    _tricky_tree(tmp_path)
    found = {(file, kind) for file, _, kind in _same_as_detect_secrets(tmp_path)}
    assert found >= {
        ("deploy.yaml", "Base64 High Entropy String"),
        ("README.md", "AWS Access Key"),
        ("app.ini", "Base64 High Entropy String"),
        ("notes.txt", "Base64 High Entropy String"),
        ("keys.py", "Secret Keyword"),
        ("settings.py", "Secret Keyword"),
    }


def test_the_fast_scan_on_several_processes_merges_the_same_findings(tmp_path, monkeypatch):
    monkeypatch.setattr(secret_scan, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(secret_scan, "CHUNK_FILES", 2)
    tree = tmp_path / "repo"
    shutil.copytree(PLANTED, tree)
    _tricky_tree(tree)
    assert len(_same_as_detect_secrets(tree, workers=2)) >= 8


def test_an_unknown_plugin_turns_the_prefilter_off():
    class Custom(BasePlugin):
        secret_type = "Custom"

        def analyze_string(self, string):
            yield from ()

    assert secret_scan.Prefilter.for_plugins([Custom()]) is None


def test_a_relative_root_is_scanned_like_an_absolute_one(tmp_path, monkeypatch):
    """detect-secrets joins its root onto paths that already hold it: a relative work folder
    (ABC_WORK_DIR=work) used to make every scan find nothing."""
    tree = tmp_path / "repo"
    tree.mkdir()
    (tree / "settings.py").write_text('AWS_ACCESS_KEY_ID = "AKIAIOSFODNN7EXAMPLE"\n')
    monkeypatch.chdir(tmp_path)
    relative = Path("repo")
    assert [f.file for f in redact.leftover_secrets(relative)] == ["settings.py"]
    report = redact.redact_tree(relative)
    assert [f.file for f in report.findings] == ["settings.py"]
    assert "AKIAIOSFODNN7EXAMPLE" not in (tree / "settings.py").read_text()


def test_a_url_whose_password_is_a_template_hole_is_left_alone(tmp_path):
    """`mongodb://${USER}:${PASSWORD}@host` builds a URL from the environment: there is no
    secret in it, and replacing the hole breaks the service (it then signs in with "REDACTED")."""
    from pipeline.stages import redact

    source = tmp_path / "index.js"
    source.write_text(
        "const url = `mongodb://${MONGO_USERNAME}:${MONGO_PASSWORD}@${MONGO_HOSTNAME}:${MONGO_PORT}`;\n"
        "const dsn = 'postgres://app:%(password)s@db/app' % cfg;\n"
        "const real = 'postgres://app:hunter2hunter2@db/app';\n"
    )
    found = redact.find_pattern_secrets(tmp_path)
    assert [f.line for f in found] == [3]


def test_a_keyword_followed_by_a_variable_or_a_plain_word_is_not_redacted(tmp_path):
    """`ep.Password = pwd` assigns a variable (replacing it broke vendored Go code), and
    a test database's `password: socketio` is a word (replacing it everywhere renamed a
    package); a real password is still found."""
    from pipeline.stages import redact

    (tmp_path / "mail.go").write_text("package mail\n\nfunc set(ep *E, pwd string) {\n\tep.Password = pwd\n}\n")
    # A comparison the detector reads past: `== nil {` and `!= nil), nil` are code, not values.
    (tmp_path / "totp.go").write_text(
        "package totp\n\nfunc has(a *A) (bool, error) {\n\tif a.TOTPSecret == nil {\n\t\treturn false, nil\n\t}\n"
        "\treturn (a.TOTPSecret != nil), nil\n}\n"
    )
    (tmp_path / "compose.yml").write_text("services:\n  db:\n    environment:\n      password: socketio\n")
    (tmp_path / "config.py").write_text('password = "Tr0ub4dor&3xyz"\n')
    (tmp_path / "expected.json").write_text('{"SuperSecret": "This one has a name override and a comment"}\n')
    found = {(path.name, kind) for path, _line, kind, _value in redact.scan(tmp_path)}
    assert ("mail.go", "Secret Keyword") not in found
    assert ("totp.go", "Secret Keyword") not in found
    assert ("compose.yml", "Secret Keyword") not in found
    assert ("expected.json", "Secret Keyword") not in found
    assert ("config.py", "Secret Keyword") in found


def test_code_constants_and_alphabets_are_not_secrets(tmp_path):
    """An integer constant under a key-like name (`PR_PAC_APDBKEY = 0x8`, vendored x/sys)
    and an alphabet (every character once: hashids', a captcha's) are what the code needs
    as they are; a random token of the same length is still found."""
    from pipeline.stages import redact

    (tmp_path / "consts.go").write_text("package unix\n\nconst (\n\tPR_SOME_KEY = 0x8\n)\n")
    (tmp_path / "ids.go").write_text(
        'package ids\n\nconst Alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ1234567890"\n'
    )
    (tmp_path / "token.go").write_text('package cfg\n\nconst Token = "q8Zr3xKp0vLw9aQe7sTn2bYd5fGh8jMc"\n')
    found = {path.name for path, _line, _kind, _value in redact.scan(tmp_path)}
    assert "consts.go" not in found and "ids.go" not in found
    assert "token.go" in found


def test_a_secret_repeated_in_a_file_is_replaced_everywhere(tmp_path):
    """detect-secrets reports a value once per file (its first line): a hash quoted twice in
    a test was left on its second line, and the package's rescan rejected the task."""
    from pipeline.stages import redact

    digest = "9f2c4e1a7b3d5f60818a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e2f4a6b8c0d2e"
    (tmp_path / "apq_test.go").write_text(
        f'package apq\n\nconst sent = `{{"sha256Hash":"{digest}"}}`\n\nfunc check() {{\n\tequal("{digest}", got)\n}}\n'
    )
    redact.redact_tree(tmp_path)
    assert digest not in (tmp_path / "apq_test.go").read_text()
    assert redact.leftover_secrets(tmp_path) == []


def test_a_short_secret_value_repeated_in_a_file_is_replaced_at_every_line(tmp_path):
    """A short value ("sk-...") is not replaced file-wide (it may be an ordinary string
    elsewhere): its file is scanned again until no line the detector sees has it."""
    lines = [
        f'client{i} = Client(\n    secret_key="sk-...",\n    host="https://api.example.com",\n)\n' for i in range(3)
    ]
    (tmp_path / "SKILL.md").write_text("# Setup\n\n```python\n" + "\n".join(lines) + "```\n")
    report = redact.redact_tree(tmp_path)
    assert 'secret_key="sk-..."' not in (tmp_path / "SKILL.md").read_text()
    assert len(report.findings) == 3
    assert redact.leftover_secrets(tmp_path) == []


def test_a_plain_word_credential_is_not_scrubbed_from_every_log():
    """`postgres` as a repository's default password is replaced in the repository, but
    remembering it would cut the pipeline's own words out of every reason and log."""
    opaque = "Zq8-" + "x" * 10
    redact.remember_secrets(["postgres", "changeme", opaque])
    text = f"the postgresql sidecar (postgres:15-bookworm) exited; it used changeme and {opaque}"
    scrubbed = redact.scrub(text)
    assert "the postgresql sidecar (postgres:15-bookworm) exited; it used changeme and " in scrubbed
    assert opaque not in scrubbed


def test_a_compilers_line_and_column_after_a_secret_looking_file_name_stay_in_the_log():
    """`token.go:257:16:` reads like `token: <value>`; the build log that explains the
    failure keeps its positions (blobstash's reason lost them), a real value still goes."""
    log = "vendor/github.com/alecthomas/chroma/tokentype_string.go:257:16: invalid argument: index 25"
    assert redact.scrub(log) == log
    assert "hunter2-x9" not in redact.scrub("API_TOKEN: hunter2-x9")


def test_a_generated_files_name_table_is_not_a_secret_but_a_key_in_it_still_is(tmp_path):
    """stringer writes `const _TokenType_name = "NoneOtherError..."` under Go's generated-code
    marker; the secret-name pattern and detect-secrets' entropy detector both took it for a
    key, and replacing it broke blobstash's vendored build (`index 25 out of bounds`). A key
    of a known shape in a generated file is still found."""
    # names of many letters: as high in entropy as a random key
    words = "Background Keyword Jump Quiz Vex Fizz Whiz Blank Zap Query Xerox Ajax Yield Vortex Kappa Jinx"
    table = "".join(words.split() * 3)
    generated = (
        '// Code generated by "stringer -type TokenType"; DO NOT EDIT.\n\npackage chroma\n\n'
        f'const _TokenType_name = "{table}"\n'
    )
    (tmp_path / "chroma").mkdir()
    (tmp_path / "chroma" / "tokentype_string.go").write_text(generated)
    key = "AKIA" + "Q" * 16
    (tmp_path / "keys_gen.go").write_text(
        f'// Code generated by hand-rolled-gen. DO NOT EDIT.\n\npackage keys\n\nconst awsKey = "{key}"\n'
    )
    report = redact.redact_tree(tmp_path)
    assert table in (tmp_path / "chroma" / "tokentype_string.go").read_text()
    assert key not in (tmp_path / "keys_gen.go").read_text()
    assert [f.file for f in report.findings] == ["keys_gen.go"]


def test_a_label_after_a_secret_looking_task_name_stays_in_the_log():
    """A task named after a secrets manager (`external_secrets__metrics: needs_service: Error`)
    had its failure class scrubbed: a word that ends in a colon is a label, not a value."""
    reason = "external_secrets_kubernetes_external_secrets__metrics: needs_service: Error: connect ECONNREFUSED"
    assert redact.scrub(reason) == reason
    assert "hunter2x" not in redact.scrub("my_secret: hunter2x: in use")


def test_names_and_markers_under_secret_looking_names_stay_in_the_code(tmp_path):
    """A vendored oauth2 package (`userCredentialsKey = "authorized_user"`) and a SQL
    template's markers (`BboxToken = "!BBOX!"`) were replaced by the placeholder; the Go
    build then failed on duplicate switch cases and map keys. A key of a random look under
    the same kind of name is still replaced."""
    source = (
        "package config\n\nconst (\n"
        '\tserviceAccountKey  = "service_account"\n'
        '\tuserCredentialsKey = "authorized_user"\n'
        '\tBboxToken          = "!BBOX!"\n'
        '\tPixelWidthToken    = "!PIXEL_WIDTH!"\n'
        '\tsessionKeyName     = "sessionKey"\n'
        '\tapiToken           = "tok_9f8a7s6d5f4g"\n'
        ")\n"
    )
    (tmp_path / "config.go").write_text(source)
    redact.redact_tree(tmp_path)
    text = (tmp_path / "config.go").read_text()
    for kept in ('"service_account"', '"authorized_user"', '"!BBOX!"', '"!PIXEL_WIDTH!"', '"sessionKey"'):
        assert kept in text
    assert "tok_9f8a7s6d5f4g" not in text


def test_addresses_and_expressions_under_secret_looking_names_stay_in_the_code(tmp_path):
    """In a real Go service a JWT claims namespace (`"https://hasura.io/jwt/claims"`), every
    OAuth provider's `TokenURL` and `secret = secret + strings.Repeat("=", 8-n)` were
    replaced: the last one no longer compiled. A URL's password and a token in a query
    string are still replaced."""
    source = (
        "package x\n\n"
        "func pad(secret string) string {\n"
        '\tsecret = secret + strings.Repeat("=", 8-n)\n'
        "\treturn secret\n}\n\n"
        'var e = oauth2.Endpoint{TokenURL: "https://gitlab.com/oauth/token"}\n\n'
        'const ClaimsNamespace = "https://hasura.io/jwt/claims"\n'
        'const dbURL = "postgres://admin:S3cr3tPassw0rd@db:5432/app"\n'
        'const tokenURL = "https://api.example.com/v1/token?access_token=9f8a7s6d5f4g3h2j"\n'
    )
    (tmp_path / "code.go").write_text(source)
    redact.redact_tree(tmp_path)
    text = (tmp_path / "code.go").read_text()
    for kept in (
        'secret = secret + strings.Repeat("=", 8-n)',
        '"https://gitlab.com/oauth/token"',
        '"https://hasura.io/jwt/claims"',
    ):
        assert kept in text
    assert "S3cr3tPassw0rd" not in text and "9f8a7s6d5f4g3h2j" not in text


def test_scans_in_threads_at_once_each_find_the_secret(tmp_path):
    """A batch runs repositories in threads; detect-secrets swaps its one global settings
    object in and out around each scan, and two scans at once used to swap each other's
    plugins away (4 of 600 scans of this file found nothing)."""
    import hashlib
    import threading

    (tmp_path / "a.py").write_text("x = 1\nmatches(r, {'sha256': '" + hashlib.sha256(b"x").hexdigest() + "'})\n")
    results: list[int] = []

    def scan_many() -> None:
        for _ in range(100):
            results.append(len(list(secret_scan.scan_files(tmp_path, ["a.py"], workers=1))))

    threads = [threading.Thread(target=scan_many) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 400 and set(results) == {1}


def _pem_private(key, pkcs8: bool) -> str:
    from cryptography.hazmat.primitives import serialization

    form = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    return key.private_bytes(serialization.Encoding.PEM, form, serialization.NoEncryption()).decode()


def _pem_public(key) -> str:
    from cryptography.hazmat.primitives import serialization

    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_a_shipped_key_pair_is_replaced_by_a_fresh_pair_the_gate_lets_pass(tmp_path, monkeypatch):
    # realworld-java21: Spring signs its JWTs with app.key and checks them with app.pub. A
    # placeholder there stops the service; a fresh pair of the same kind keeps it running.
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    signing = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    curve_key = ec.generate_private_key(ec.SECP256R1())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    tree = tmp_path / "repo"
    resources = tree / "src" / "main" / "resources"
    resources.mkdir(parents=True)
    (resources / "app.key").write_text(_pem_private(signing, pkcs8=True))
    (resources / "app.pub").write_text(_pem_public(signing))
    (resources / "copy.key").write_text(_pem_private(signing, pkcs8=True))
    (resources / "unrelated.pub").write_text(_pem_public(other))
    indented = "\n".join("    " + line for line in _pem_private(curve_key, pkcs8=False).splitlines())
    (tree / "config.yaml").write_text(f"jwt:\n  key: |\n{indented}\n")
    monkeypatch.setattr(redact, "_generated_keys", set())

    report = redact.redact_tree(tree)

    renewed = serialization.load_pem_private_key((resources / "app.key").read_bytes(), None)
    assert isinstance(renewed, rsa.RSAPrivateKey) and renewed.key_size == 2048
    assert renewed.private_numbers() != signing.private_numbers()
    assert (resources / "copy.key").read_text() == (resources / "app.key").read_text()  # one key, one replacement
    public = serialization.load_pem_public_key((resources / "app.pub").read_bytes())
    assert public.public_numbers() == renewed.public_key().public_numbers()
    assert (resources / "unrelated.pub").read_text() == _pem_public(other)
    yaml_key = yaml.safe_load((tree / "config.yaml").read_text())["jwt"]["key"]
    assert (tree / "config.yaml").read_text().startswith("jwt:\n  key: |\n    -----BEGIN EC PRIVATE KEY-----\n    ")
    fresh_curve = serialization.load_pem_private_key(yaml_key.encode(), None)
    assert isinstance(fresh_curve, ec.EllipticCurvePrivateKey) and fresh_curve.curve.name == "secp256r1"
    assert fresh_curve.private_numbers() != curve_key.private_numbers()
    assert len(report.generated_keys) == 2
    assert {f.type for f in report.findings} == {"Private Key (replaced by a fresh key)"}
    assert redact.leftover_secrets(tree, skip=()) == []

    # Another process (a resumed run, `abc-pipeline lint`) knows the fresh keys only from the
    # task's metadata.json; without it they are private keys like any other.
    monkeypatch.setattr(redact, "_generated_keys", set())
    assert {f.file for f in redact.leftover_secrets(tree, skip=())} >= {"src/main/resources/app.key", "config.yaml"}
    monkeypatch.setattr(redact, "_generated_keys", set())
    metadata = {"redaction_report": {"generated_keys": report.generated_keys}}
    (tree / "metadata.json").write_text(json.dumps(metadata))
    assert redact.leftover_secrets(tree) == []
