"""Runtime hints of a Rust service: the environment variables it reads, its port and start command.

`runtime_hints` (shared by Axum and Actix) builds with `cargo build --release` and runs
the binary; the port comes from a literal bind address, a listen variable's default, a
`.env` file or the framework's default, and every variable the code requires gets a
dummy value. Separate from discovery proper: it reads the source text and manifests,
not the routes.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.framework import RuntimeHints, ServiceCandidate
from pipeline.languages.rust.cargo import bin_targets, package_name, read_cargo, workspace_root
from pipeline.languages.rust.interpreter import call_args
from pipeline.languages.rust.project import RustProject, string_value

log = logging.getLogger(__name__)

Node = tree_sitter.Node


# --------------------------------------------------------------------------- runtime


_ENV_CALLS = ("env::var", "env::var_os", "dotenvy::var", "dotenv::var")
_OPTIONAL_METHODS = {"unwrap_or", "unwrap_or_else", "unwrap_or_default", "ok", "is_ok", "is_err", "map_or", "or"}
_OPTIONAL_PARENTS = {"let_condition", "match_expression", "if_expression", "binary_expression"}
#: always set in a container, never worth a dummy
_SYSTEM_ENV = frozenset({"HOME", "PATH", "PWD", "USER", "SHELL", "HOSTNAME", "LANG", "TMPDIR", "TERM"})
_ADDRESS = re.compile(r"\"(0\.0\.0\.0|127\.0\.0\.1|localhost|\[::1?\]|::1?):(\d{2,5})\"")
_SOCKET_ADDR = re.compile(r"\(\s*\[\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\]\s*,\s*(\d{2,5})\s*\)")
_BIND_TUPLE = re.compile(r"bind\s*\(\s*\(\s*\"([^\"]*)\"\s*,\s*(\d{2,5})\s*\)\s*\)")
_IPV4_ADDR = re.compile(r"Ipv4Addr::(?:new\(\s*(\d+)\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)|(UNSPECIFIED|LOCALHOST))")


#: variables that say where the service itself listens (not MYSQL_HOST, SMTP_PORT, ...)
_LISTEN_VAR = re.compile(
    r"^(?:(?:APP|SERVER|HTTP|LISTEN|BIND|WEB|API|SERVICE|ACTIX|AXUM|ROCKET)_)?"
    r"(PORT|HOST|IP|ADDR|ADDRESS|BIND|BIND_ADDR|BIND_ADDRESS|LISTEN_ADDR|LISTEN_ADDRESS)$"
)


@dataclass
class EnvRead:
    name: str
    required: bool
    numeric: bool
    #: a literal default next to the read (`unwrap_or("3000")`), if any
    default: str | None


_ENV_TEXT = re.compile(rb"(?:\benv::var(?:_os)?|\bdotenvy?::var|\bvar(?:_os)?|\benv!)\s*\(")


def _env_nodes(sf: ts.SourceFile) -> Iterator[Node]:
    """Calls and macros that may read the environment, found from the text (no full tree walk)."""
    seen: set[int] = set()
    for match in _ENV_TEXT.finditer(sf.source):
        node = sf.root.descendant_for_byte_range(match.start(), match.start() + 1)
        while node is not None and node.type not in ("call_expression", "macro_invocation"):
            node = node.parent
        if node is not None and node.start_byte not in seen:
            seen.add(node.start_byte)
            yield node


def env_reads(files: Iterable[ts.SourceFile]) -> list[EnvRead]:
    """Every `std::env::var("X")` / `env!("X")` the code does, with how it is used."""
    out: list[EnvRead] = []
    for sf in files:
        for node in _env_nodes(sf):
            if node.type == "macro_invocation":
                macro = ts.text(node.child_by_field_name("macro"))
                if macro.split("::")[-1] != "env":
                    continue
                tokens = next((c for c in node.named_children if c.type == "token_tree"), None)
                first = tokens.named_children[0] if tokens is not None and tokens.named_children else None
                name = string_value(first)
                if name:
                    out.append(EnvRead(name, True, False, None))
                continue
            fn = ts.text(node.child_by_field_name("function"))
            if not (fn.endswith(_ENV_CALLS) or fn in ("var", "var_os")):
                continue
            args = call_args(node)
            name = string_value(args[0]) if args else None
            if not name:
                continue
            out.append(_classify_env_read(name, node))
    return out


def _classify_env_read(name: str, call: Node) -> EnvRead:
    """Required unless the first thing done with the result tolerates its absence."""
    decided: bool | None = None  # True: required, False: optional
    numeric = False
    default: str | None = None
    current = call
    for _ in range(8):
        parent = current.parent
        if parent is None or parent.type in ("let_declaration", "expression_statement", "block"):
            break
        if parent.type == "try_expression" and decided is None:
            decided = True
        elif parent.type in _OPTIONAL_PARENTS and decided is None:
            decided = False
        elif parent.type == "field_expression":
            method = ts.text(parent.child_by_field_name("field"))
            outer = parent.parent
            if method in _OPTIONAL_METHODS:
                decided = False if decided is None else decided
                args = call_args(outer) if outer is not None and outer.type == "call_expression" else []
                literal = re.search(r"\"?(\d{2,5})\"?", ts.text(args[0])) if args else None
                default = default or (literal.group(1) if literal else None)
            elif method in ("unwrap", "expect") and decided is None:
                decided = True
            elif method == "parse":
                numeric = True
        current = parent
    return EnvRead(name, decided is not False, numeric, default)


def literal_port(files: Iterable[ts.SourceFile]) -> tuple[int, str] | None:
    """(port, host) the code binds to literally: "0.0.0.0:3000", ([0,0,0,0], 3000), ("127.0.0.1", 8080)."""
    files = list(files)
    texts = [sf.source.decode("utf-8", errors="replace") for sf in files]
    # HttpServer's `.bind(("host", port))` first: a plain address string may be another
    # listener (a raw TCP socket, a metrics server).
    for text in texts:
        for match in _BIND_TUPLE.finditer(text):
            return int(match.group(2)), match.group(1)
    for text in texts:
        for match in _SOCKET_ADDR.finditer(text):
            return int(match.group(5)), ".".join(match.group(i) for i in range(1, 5))
    for text in texts:
        for match in _ADDRESS.finditer(text):
            return int(match.group(2)), match.group(1)
    return None


def dotenv_port(folders: Iterable[Path]) -> int | None:
    for folder in folders:
        path = folder / ".env"
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines() if path.is_file() else []
        except OSError:
            continue
        for line in lines:
            match = re.match(r"\s*(?:export\s+)?PORT\s*=\s*[\"']?(\d{2,5})", line)
            if match:
                return int(match.group(1))
    return None


def runtime_env(reads: list[EnvRead], port: int) -> dict[str, str]:
    """Dummy values for the variables the code needs; PORT/HOST/ADDR ones point at 0.0.0.0:port."""
    out: dict[str, str] = {}
    for read in reads:
        listen = _LISTEN_VAR.match(read.name.upper())
        if listen and listen.group(1) == "PORT":
            out[read.name] = str(port)
        elif listen and listen.group(1) in ("HOST", "IP"):
            out[read.name] = "0.0.0.0"
        elif listen:
            out[read.name] = f"0.0.0.0:{port}"
        elif read.name.startswith("CARGO_") or read.name in _SYSTEM_ENV:
            continue  # set by Cargo itself, or by the system
        elif read.required and read.name not in out:
            out[read.name] = "1" if read.numeric else f"dummy-{read.name}"
    return dict(sorted(out.items()))


def binary_command(repo_root: Path, crate_dir: Path, binary: str) -> list[str]:
    """`target/release/<binary>` as seen from the crate, after `cargo build --release`.

    Workspace members share the workspace's target folder.
    """
    base = workspace_root(crate_dir, repo_root) or crate_dir
    rel = os.path.relpath(base / "target" / "release" / binary, crate_dir.resolve())
    return [rel if rel.startswith(".") else "./" + rel]


def runtime_hints(repo_root: Path, service: ServiceCandidate, default_port: int) -> RuntimeHints:
    """Shared by Axum and Actix: build with `cargo build --release`, run the binary."""
    repo_root = repo_root.resolve()
    crate_dir = service.root.resolve()
    manifest = read_cargo(crate_dir / "Cargo.toml") or {}
    binary = next((n for n, rel in bin_targets(manifest, crate_dir) if rel == service.entrypoint), None)
    binary = binary or package_name(manifest) or crate_dir.name
    project = RustProject(repo_root, crate_dir, service.entrypoint)
    reads = env_reads(project.files)
    literal = literal_port(project.files)
    port_read = next((r for r in reads if _LISTEN_VAR.match(r.name.upper()) and r.default), None)
    workspace = workspace_root(crate_dir, repo_root)
    if literal is not None:
        port, host = literal
        if host in ("127.0.0.1", "localhost", "[::1]", "::1"):
            # toolchain.loopback_rewrites makes the build listen on 0.0.0.0 instead.
            log.warning("%s binds to %s:%d; the build rewrites it to 0.0.0.0", service.root, host, port)
    elif port_read is not None and port_read.default is not None:
        port = int(port_read.default)
    else:
        folders = [crate_dir] + ([workspace] if workspace is not None else [])
        port = dotenv_port(folders) or default_port
    return RuntimeHints(
        start_command=binary_command(repo_root, crate_dir, binary),
        port=port,
        env=runtime_env(reads, port),
    )
