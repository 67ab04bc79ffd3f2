"""lint: check a task package from its files alone, and explain every finding.

Works on both layouts the pipeline writes (Terminal-Bench: task.yaml, run-tests.sh,
solution.sh; Harbor: task.toml, instruction.md, environment/, solution/solve.sh,
tests/test.sh). Nothing in the package is executed: the solution patch is read out of
the solution script and applied with `git apply` to a temporary copy of the repository.

Checks (each finding names its check):
- layout:     every file is in place, the scripts are executable, the configs parse;
- endpoints:  the instruction names every endpoint the tests call;
- leak:       no line of the solution's code is in the instruction or the tests;
- secret:     no secret is left (detect-secrets and the redaction stage's own patterns);
- mask:       the solution patch applies, and changes the file of every masked symbol,
              which still names the symbol (its signature was kept);
- metadata:   metadata.json is valid against pipeline/schemas/metadata.schema.json;
- variant:    an environment task ships no environment files, and its solution writes
              the Dockerfile;
- stated:     every status code and literal value tests/test_func.py asserts is in the
              instruction, in the tests' own request bodies, or in the repository's
              unmasked code (pipeline/lint_stated.py). A warning: the task still works,
              but the agent is asked to guess.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from pathlib import Path
from typing import Literal

import jsonschema
import yaml
from pydantic import BaseModel

from pipeline import lint_stated
from pipeline.leaks import find_leaks
from pipeline.models import normalize_path
from pipeline.schemas.metadata import load_schema
from pipeline.stages import package, redact
from pipeline.task_folder import MetadataSummary, NotATaskError, TaskFolder, read_task

_HTTP_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}
_INSTRUCTION_ENDPOINT = re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|ANY)\s+`?(/[^\s`'\")]*)")


class Finding(BaseModel):
    check: str
    message: str
    level: Literal["error", "warning"] = "error"


class LintReport(BaseModel):
    task_dir: str
    format: str
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not any(f.level == "error" for f in self.findings)


def lint_task(task_dir: Path) -> LintReport:
    try:
        task = read_task(task_dir)
    except NotATaskError as exc:
        finding = Finding(check="layout", message=exc.reason)
        return LintReport(task_dir=str(task_dir), format="unknown", findings=[finding])
    findings: list[Finding] = []
    findings += _check_layout(task)
    metadata, metadata_findings = _check_metadata(task)
    findings += metadata_findings
    instruction, config_findings = _instruction(task)
    findings += config_findings
    tests = {path.name: path.read_text() for path in task.test_files() if path.is_file()}
    patch = package.solution_patch(task.solution.read_text()) if task.solution.is_file() else ""
    if task.solution.is_file() and not patch.strip():
        findings.append(Finding(check="mask", message=f"{task.relative(task.solution)} carries no solution patch"))
    if instruction is not None:
        findings += _check_endpoints(instruction, tests)
    findings += _check_leaks(instruction or "", tests, patch)
    findings += _check_secrets(task)
    if metadata is not None:
        repo = task.repo_dir(metadata.source) if metadata.source is not None else None
        if repo is None or not repo.is_dir():
            findings.append(Finding(check="layout", message="the repository folder named by metadata.json is missing"))
        else:
            if patch.strip():
                findings += _check_mask(repo, patch, metadata.masked_symbols)
            if metadata.kind == "environment":
                findings += _check_environment_variant(task, repo)
    if instruction is not None and "test_func.py" in tests:
        repo = task.repo_dir(metadata.source) if metadata is not None and metadata.source is not None else None
        findings += _check_stated(instruction, tests["test_func.py"], repo, patch)
    return LintReport(task_dir=str(task_dir), format=task.format, findings=findings)


def _check_layout(task: TaskFolder) -> list[Finding]:
    findings = []
    for path in task.required():
        if not path.is_file():
            findings.append(Finding(check="layout", message=f"{task.relative(path)} is missing"))
    for path in task.executables():
        name = task.relative(path)
        if path.is_file() and not os.access(path, os.X_OK):
            findings.append(Finding(check="layout", message=f"{name} is not executable (chmod +x {name})"))
    test_sh = task.test_sh
    if test_sh is not None and test_sh.is_file() and "reward.txt" not in test_sh.read_text():
        findings.append(Finding(check="layout", message="tests/test.sh never writes Harbor's reward.txt"))
    return findings


def _instruction(task: TaskFolder) -> tuple[str | None, list[Finding]]:
    """The instruction text, and findings about the config that holds it."""
    try:
        if task.format == "harbor":
            config = tomllib.loads(task.config.read_text())
            missing = [k for k in ("schema_version", "task", "metadata", "verifier", "agent") if k not in config]
            findings = [Finding(check="layout", message=f"task.toml has no [{k}]") for k in missing]
            path = task.instruction
            return (path.read_text() if path is not None and path.is_file() else None), findings
        config = yaml.safe_load(task.config.read_text())
    except FileNotFoundError:
        return None, []  # reported by the layout check
    except (tomllib.TOMLDecodeError, yaml.YAMLError) as exc:
        return None, [Finding(check="layout", message=f"the task config does not parse: {exc}")]
    if not isinstance(config, dict):
        return None, [Finding(check="layout", message="task.yaml is not a mapping")]
    keys = ("instruction", "author_name", "difficulty", "category", "tags", "max_agent_timeout_sec")
    findings = [Finding(check="layout", message=f"task.yaml has no `{k}`") for k in keys if k not in config]
    instruction = config.get("instruction")
    return (instruction if isinstance(instruction, str) else None), findings


def _check_metadata(task: TaskFolder) -> tuple[MetadataSummary | None, list[Finding]]:
    """metadata.json checked against the shipped schema (not the pipeline's model), and
    what the other checks need of it, read leniently so they still run on a damaged one."""
    if not task.metadata_file.is_file():
        return None, []
    try:
        metadata = task.metadata_json()
    except ValueError as exc:
        return None, [Finding(check="metadata", message=f"metadata.json is not JSON: {exc}")]
    validator = jsonschema.Draft202012Validator(load_schema())
    findings = []
    for error in sorted(validator.iter_errors(metadata), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        findings.append(Finding(check="metadata", message=f"metadata.json {where}: {error.message}"))
    return (MetadataSummary.of(metadata) if isinstance(metadata, dict) else None), findings


# ------------------------------------------------------------------------ endpoints


def _url_template(node: ast.expr) -> str | None:
    """A URL expression as a path template: literal parts kept, every value as `{}`."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = [_url_template(v) if isinstance(v, ast.Constant) else "{}" for v in node.values]
        return "".join(p or "" for p in parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _url_template(node.left), _url_template(node.right)
        return None if left is None and right is None else (left or "{}") + (right or "{}")
    return "{}"


def called_endpoints(test_source: str) -> list[tuple[str, str]]:
    """(METHOD, path template with `{}` for values) of every requests call in a test file."""
    try:
        tree = ast.parse(test_source)
    except SyntaxError:
        return []
    calls = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute | ast.Name) and node.args):
            continue
        # `send(METHOD, url)` is the tests' conftest fixture: requests.request that follows
        # only the redirects that stay on the service.
        name = node.func.attr.lower() if isinstance(node.func, ast.Attribute) else node.func.id
        name = "request" if name == "send" else name
        if name == "request" and len(node.args) >= 2 and isinstance(node.args[0], ast.Constant):
            method, url = str(node.args[0].value).upper(), node.args[1]
        elif name in _HTTP_METHODS:
            method, url = name.upper(), node.args[0]
        else:
            continue
        template = _url_template(url) or ""
        # The base URL comes first ({base_url}/x or base_url + "/x"); the query is not the
        # route. Anything else (os.environ.get("SERVICE_URL")) is not a call to the service.
        if not template.startswith("{}"):
            continue
        template = template[2:].split("?")[0] or "/"
        if template.startswith("/"):
            calls.append((method, template))
    return calls


def _shape(path: str) -> str:
    """A path with every parameter as `{}`, to compare test calls with named routes."""
    return re.sub(r"\{[^{}]*\}", "{}", normalize_path(path))


def _route_matches(called: str, named: str) -> bool:
    """/api/todos/1 and /api/todos/{} are one route: a named parameter matches any segment."""
    a, b = called.strip("/").split("/"), named.strip("/").split("/")
    return len(a) == len(b) and all(x == y or y == "{}" for x, y in zip(a, b, strict=True))


def _check_endpoints(instruction: str, tests: dict[str, str]) -> list[Finding]:
    named = {(m, _shape(p)) for m, p in _INSTRUCTION_ENDPOINT.findall(instruction.replace("`", " `"))}
    findings, seen = [], set()
    for name, source in tests.items():
        for method, template in called_endpoints(source):
            shape = _shape(template)
            if shape == "/" or (method, shape) in seen:
                continue  # the "service is up" probe of test_connect
            seen.add((method, shape))
            if not any(m in (method, "ANY") and _route_matches(shape, route) for m, route in named):
                findings.append(
                    Finding(
                        check="endpoints",
                        message=f"tests/{name} calls {method} {template}, which the instruction never names",
                    )
                )
    return findings


def _check_stated(instruction: str, test_func: str, repo: Path | None, patch: str) -> list[Finding]:
    return [
        Finding(
            check="stated",
            level="warning",
            message=f"tests/test_func.py asserts {item.describe()}, which neither the instruction "
            "nor the repository's code states",
        )
        for item in lint_stated.unstated(instruction, test_func, repo, patch)
    ]


# ------------------------------------------------------------------------ leaks and secrets


def _check_leaks(instruction: str, tests: dict[str, str], patch: str) -> list[Finding]:
    findings = []
    texts = {"the instruction": instruction, **{f"tests/{n}": t for n, t in tests.items()}}
    for where, text in texts.items():
        leaked = find_leaks(text, patch)
        if leaked:
            shown = "; ".join(f"`{line}`" for line in leaked[:3])
            more = f" (and {len(leaked) - 3} more)" if len(leaked) > 3 else ""
            findings.append(
                Finding(check="leak", message=f"{where} carries {len(leaked)} line(s) of the solution: {shown}{more}")
            )
    return findings


def _check_secrets(task: TaskFolder) -> list[Finding]:
    return [
        Finding(check="secret", message=f"{f.file}:{f.line}: {f.type} (redact it, then regenerate)")
        for f in redact.leftover_secrets(task.root)
    ]


# ------------------------------------------------------------------------ the mask


def _check_mask(repo: Path, patch: str, masked_symbols: list[str]) -> list[Finding]:
    with tempfile.TemporaryDirectory(prefix="abc-lint-") as tmp:
        solved = Path(tmp) / "repo"
        shutil.copytree(repo, solved, symlinks=True, ignore=shutil.ignore_patterns(".git"))
        applied = subprocess.run(
            ["git", "apply", "--whitespace=nowarn", "-"],
            input=patch,
            cwd=solved,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if applied.returncode != 0:
            reason = (applied.stderr or applied.stdout).strip().splitlines()[:2]
            return [Finding(check="mask", message=f"the solution patch does not apply: {' '.join(reason)}")]
        findings = []
        for symbol in masked_symbols:
            file, _, name = symbol.rpartition(":")
            masked, original = repo / file, solved / file
            if not masked.is_file():
                findings.append(Finding(check="mask", message=f"{symbol}: {file} is not in the repository"))
            elif masked.read_bytes() == original.read_bytes():
                findings.append(
                    Finding(check="mask", message=f"{symbol}: the solution does not change {file}, so it is not masked")
                )
            elif name != "<anonymous>" and name.split(".")[-1] not in masked.read_text(errors="replace"):
                findings.append(Finding(check="mask", message=f"{symbol}: the masked {file} lost the symbol itself"))
        return findings


def _check_environment_variant(task: TaskFolder, repo: Path) -> list[Finding]:
    findings = []
    for path in sorted(repo.rglob("*")):
        if path.is_file() and package.is_environment_file(path.name) and ".git" not in path.parts:
            findings.append(
                Finding(
                    check="variant",
                    message=f"environment task still ships {task.relative(path)}: the agent must write it",
                )
            )
    if task.solution.is_file() and "ABC_PIPELINE_DOCKERFILE" not in task.solution.read_text():
        findings.append(
            Finding(check="variant", message=f"{task.relative(task.solution)} does not write the Dockerfile")
        )
    return findings
