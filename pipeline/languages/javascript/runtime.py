"""Runtime hints of a Node service: the environment it reads, the port it listens on, how it starts.

Environment variables the code reads with no fallback (given dummy values), the port of
its `listen(...)` call, its entry file and the command that starts it (a TypeScript entry
from its compiled file). These read the environment and the manifests rather than routes,
so they are kept apart from routes.py.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

from pipeline.languages import treesitter as ts
from pipeline.languages.javascript.interpreter import JsModule, JsProject, nodes_of
from pipeline.languages.javascript.project import SUFFIXES, TS_SUFFIXES, read_jsonc, script_words
from pipeline.languages.javascript.syntax import Node, arguments, is_require, member_parts, string_value, unwrap

# --------------------------------------------------------------------------- environment


_OPTIONAL_ENV = {"PORT", "NODE_ENV", "HOST", "DEBUG", "TZ", "HOME", "PATH", "LANG"}


def _env_name(node: Node) -> str | None:
    parts = member_parts(node)
    if parts is not None and ts.text(parts[0]) == "process.env":
        return parts[1]
    return None


def _optional_use(node: Node) -> bool:
    """`process.env.X || default`, `if (process.env.X)`, `!process.env.X`, comparisons..."""
    child = node
    for parent in ts.ancestors(node):
        if parent.type in ("binary_expression", "unary_expression", "ternary_expression"):
            if parent.type != "ternary_expression":
                return True
            condition = parent.child_by_field_name("condition")
            return condition is not None and condition.start_byte <= child.start_byte < condition.end_byte
        if parent.type in ("if_statement", "while_statement"):
            condition = parent.child_by_field_name("condition")
            return condition is not None and condition.start_byte <= child.start_byte < condition.end_byte
        if parent.type not in ("parenthesized_expression", "member_expression", "call_expression", "arguments"):
            return False
        child = parent
    return False


def _assigned(node: Node) -> bool:
    """`process.env.X = "0"`: the code sets the variable, it does not read it."""
    parent = node.parent
    return parent is not None and parent.type == "assignment_expression" and parent.child_by_field_name("left") == node


def required_env(files: Iterable[ts.SourceFile]) -> dict[str, str]:
    """Environment variables read with no fallback, with dummy values (never real ones)."""
    out: dict[str, str] = {}
    for sf in files:
        if b"process.env" not in sf.source:
            continue
        for node in ts.walk(sf.root):
            name = None
            if node.type in ("member_expression", "subscript_expression"):
                name = _env_name(node)
                if name is not None and (_optional_use(node) or _assigned(node)):
                    name = None
            elif node.type == "variable_declarator":
                pattern, value = node.child_by_field_name("name"), node.child_by_field_name("value")
                if (
                    pattern is not None
                    and value is not None
                    and pattern.type == "object_pattern"
                    and ts.text(value) == "process.env"
                ):
                    for prop in pattern.named_children:
                        key = ts.text(prop)
                        if prop.type == "shorthand_property_identifier_pattern" and key not in _OPTIONAL_ENV:
                            out.setdefault(key, f"dummy-{key}")
            if name and name not in _OPTIONAL_ENV and name.isidentifier():
                out.setdefault(name, f"dummy-{name}")
    return dict(sorted(out.items()))


# --------------------------------------------------------------------------- runtime


def port_of(project: JsProject, module: JsModule, node: Node | None, depth: int = 0) -> int | None:
    """The port a `listen` argument evaluates to, taking the fallback of `env.PORT || 3000`.

    Follows names and members across files (`config.port`), `{ port: 3000 }` (Fastify),
    `Number(...)`, `parseInt(...)` and `config.get('PORT', 3000)`.
    """
    if node is None or depth > 10:
        return None
    node = unwrap(node)
    if node.type == "number":
        try:
            value = int(ts.text(node))
        except ValueError:
            return None
        return value if 0 < value < 65536 else None
    if node.type in ("string", "template_string"):
        value_text = string_value(node) or ""
        return int(value_text) if value_text.isdigit() and 0 < int(value_text) < 65536 else None
    if node.type in ("binary_expression", "ternary_expression"):
        for side in ("right", "alternative", "consequence", "left"):
            port = port_of(project, module, node.child_by_field_name(side), depth + 1)
            if port is not None:
                return port
        return None
    if node.type == "object":
        for prop in node.named_children:
            key = prop.child_by_field_name("key") if prop.type == "pair" else None
            if key is not None and (string_value(key) or ts.text(key)) == "port":
                return port_of(project, module, prop.child_by_field_name("value"), depth + 1)
            if prop.type == "shorthand_property_identifier" and ts.text(prop) == "port":
                return port_of(project, module, prop, depth + 1)
        return None
    if node.type in ("identifier", "shorthand_property_identifier", "member_expression", "subscript_expression"):
        value = project.evaluate(module, node)
        if value is None or value.kind != "node" or value.module is None or value.node is None:
            return None
        if value.node == node:
            return None
        return port_of(project, value.module, value.node, depth + 1)
    if node.type == "call_expression":
        fn = ts.text(node.child_by_field_name("function"))
        args = arguments(node)
        if fn in ("Number", "parseInt", "parseFloat", "Math.floor", "String") and args:
            return port_of(project, module, args[0], depth + 1)
        if fn.endswith(".get") and len(args) == 2:
            # configService.get('PORT', 3000)
            return port_of(project, module, args[1], depth + 1)
        if fn.endswith(".get") and args and string_value(args[0]) == "port":
            # app.listen(app.get('port')) after app.set('port', ...)
            for call in ts.find_all(module.sf.root, "call_expression"):
                if ts.text(call.child_by_field_name("function")).endswith(".set"):
                    set_args = arguments(call)
                    if len(set_args) == 2 and string_value(set_args[0]) == "port":
                        return port_of(project, module, set_args[1], depth + 1)
    return None


ENTRY_NAMES = tuple(
    f"{folder}{name}.{ext}"
    for ext in ("js", "ts")
    for folder in ("", "src/")
    for name in ("server", "index", "app", "main")
)


def listen_port(project: JsProject, listens: Iterable[tuple[JsModule, Node]], default: int) -> int:
    """The port of the first `listen(...)` call whose argument gives one, else `default`."""
    for module, call in listens:
        args = arguments(call)
        port = port_of(project, module, args[0] if args else None)
        if port is not None:
            return port or default  # `listen(0)` asks for a random port: no use in a container
    return default


def service_env(project: JsProject, port: int, host: str | None = None) -> dict[str, str]:
    """PORT (and HOST when given), then a dummy for every variable the code requires and may not go without."""
    env = {"PORT": str(port)}
    if host is not None:
        env["HOST"] = host
    env.update(required_env(m.sf for m in project.modules.values()))
    return env


def listening_executables(root: Path) -> list[str]:
    """Scripts without a suffix that node runs (a `#!... node` first line) and that listen:
    express-generator's `bin/www`, which requires the app the start script names."""
    found = []
    for folder in (root / "bin", root):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix or not path.is_file() or path.is_symlink():
                continue
            try:
                text = path.read_bytes()[:65536]
            except OSError:
                continue
            first = text.split(b"\n", 1)[0]
            if first.startswith(b"#!") and b"node" in first and b".listen(" in text:
                found.append(path.relative_to(root).as_posix())
    return found


def entrypoint(root: Path, manifest: dict, listening: Callable[[], list[str]]) -> str | None:
    """The service's main file, from package.json when it says (cheap), else from the code.

    The file a `node <file>` start script runs, else `main`, else the shallowest file that
    calls listen (`listening()` parses the service, so it is only asked when needed), else
    a conventional name. A named file that does not listen while a node script without a
    suffix does (bin/www) gives way to that script.
    """
    named = _named_entry(root, manifest)
    if named is not None:
        executables = listening_executables(root)
        if executables and named not in listening():
            return executables[0]
        return named
    files = listening()
    if files:
        return min(sorted(set(files)), key=lambda p: (p.count("/"), p))
    return next((name for name in ENTRY_NAMES if (root / name).is_file()), None)


def _named_entry(root: Path, manifest: dict) -> str | None:
    """The file a `node <file>` start script runs, else package.json's `main`."""
    for script in ("start", "start:prod", "dev"):
        words = script_words(manifest, script)
        for word in words[1:] if words[:1] == ["node"] else words:
            # `node src/bin/server` runs src/bin/server.js
            for candidate in (word, word + ".js") if not word.startswith("-") else ():
                if candidate.endswith(SUFFIXES) and (root / candidate).is_file():
                    return Path(candidate).as_posix().removeprefix("./")
    main = manifest.get("main")
    if isinstance(main, str) and (root / main).is_file():
        return Path(main).as_posix().removeprefix("./")
    return None


def _node_script(words: list[str]) -> list[str] | None:
    """`node [flags] file [args]` of a script, without env assignments in front."""
    while words and "=" in words[0] and not words[0].startswith("-"):
        words = words[1:]
    if len(words) >= 2 and words[0] == "node" and "&&" not in words and ";" not in words:
        return words
    return None


def compiled_path(root: Path, entry: str) -> str:
    """Where `tsc` writes a TypeScript entry: tsconfig `outDir`, relative to `rootDir`.

    Without a rootDir, tsc uses the common folder of the inputs; for the usual layout
    (sources under src/) that is src/, so src/main.ts becomes <outDir>/main.js.
    """
    options = read_jsonc(root / "tsconfig.json").get("compilerOptions") if (root / "tsconfig.json").is_file() else {}
    options = options if isinstance(options, dict) else {}
    out_dir = options.get("outDir")
    root_dir = options.get("rootDir")
    stem = re.sub(r"\.(m|c)?tsx?$", "", entry)
    suffix = ".mjs" if entry.endswith(".mts") else ".cjs" if entry.endswith(".cts") else ".js"
    if not isinstance(out_dir, str):
        return stem + suffix
    base = (root_dir if isinstance(root_dir, str) else "src" if stem.startswith("src/") else ".").strip("./")
    relative = stem[len(base) + 1 :] if base and stem.startswith(base + "/") else stem
    return os.path.normpath(os.path.join(out_dir, relative)).replace(os.sep, "/") + suffix


def start_command(root: Path, manifest: dict, entry: str | None) -> list[str]:
    """argv that starts a Node service: its own `node ...` start script, else node on the entry.

    A TypeScript entry is started from its compiled file; the Dockerfile template runs
    `npm run build` when the package has a build script.
    """
    for script in ("start:prod", "start"):
        words = _node_script(script_words(manifest, script))
        # (unless the entry is a suffix-less script the start script does not run: bin/www)
        if entry and not Path(entry).suffix and entry not in [w.removeprefix("./") for w in words or []]:
            break
        if words is not None and not words[-1].endswith(TS_SUFFIXES):
            return words
    entry = entry or "index.js"
    if entry.endswith(TS_SUFFIXES):
        return ["node", compiled_path(root, entry)]
    return ["node", entry]


# --------------------------------------------------------------------------- packages


#: Node's own modules (`require('module').builtinModules`, first segment): never installed
NODE_BUILTINS = frozenset({
    "_http_agent", "_http_client", "_http_common", "_http_incoming", "_http_outgoing", "_http_server",
    "_stream_duplex", "_stream_passthrough", "_stream_readable", "_stream_transform", "_stream_wrap",
    "_stream_writable", "_tls_common", "_tls_wrap", "assert", "async_hooks", "buffer", "child_process",
    "cluster", "console", "constants", "crypto", "dgram", "diagnostics_channel", "dns", "domain", "events",
    "fs", "http", "http2", "https", "inspector", "module", "net", "os", "path", "perf_hooks", "process",
    "punycode", "querystring", "readline", "repl", "stream", "string_decoder", "sys", "timers", "tls",
    "trace_events", "tty", "url", "util", "v8", "vm", "wasi", "worker_threads", "zlib",
})  # fmt: skip
_PACKAGE_NAME = re.compile(r"(?:@[a-z0-9~-][a-z0-9._~-]*/)?[a-z0-9~-][a-z0-9._~-]*")
#: a version range that is one shell word (`^4.17.1`, `~1.2`, `4.x`)
_PLAIN_RANGE = re.compile(r"[\w.^~*-]+")


def package_of(specifier: str) -> str | None:
    """The npm package a bare specifier names (`@scope/name/sub` -> `@scope/name`), None for a
    relative path, a Node built-in, or what cannot be a package name (an alias like `@/x`)."""
    if specifier.startswith((".", "/", "node:")):
        return None
    parts = specifier.split("/")
    name = "/".join(parts[:2]) if specifier.startswith("@") else parts[0]
    if name in NODE_BUILTINS or not _PACKAGE_NAME.fullmatch(name):
        return None
    return name


def _specifiers(module: JsModule) -> Iterable[str]:
    """What a file requires or imports: `require('x')`, `import(...)`, `import ... from`, `export ... from`."""
    for call in module.calls:
        spec = is_require(call)
        if spec is None and ts.text(call.child_by_field_name("function")) == "import":
            args = arguments(call)
            spec = string_value(args[0]) if args else None
        if spec is not None:
            yield spec
    for node in nodes_of(module.sf, ("import_statement", "export_statement")):
        source = string_value(node.child_by_field_name("source"))
        if source is not None and not ts.text(node).startswith(("import type ", "export type ")):
            yield source


def required_packages(project: JsProject, entry: JsModule) -> list[str]:
    """The packages the entry file and the project files it loads (followed through relative
    imports) require, sorted."""
    seen = {entry.rel}
    todo = [entry]
    packages: set[str] = set()
    while todo:
        module = todo.pop()
        for spec in _specifiers(module):
            found = project.locate(module, spec)
            if found is not None:
                if found.rel not in seen:
                    seen.add(found.rel)
                    todo.append(found)
            elif (name := package_of(spec)) is not None:
                packages.add(name)
    return sorted(packages)


def undeclared_packages(project: JsProject, manifest: dict, entry: str | None, *, dev_installed: bool) -> list[str]:
    """What the entry's code requires that the install leaves out, to install beside it: what
    the manifest does not declare, and its devDependencies unless the install has them
    (`dev_installed`), these at their declared range. A name that is a folder of the service
    (`NODE_PATH`-style imports) is no package."""
    rel = (project.service_root / entry).relative_to(project.repo_root).as_posix() if entry else None
    module = project.modules.get(rel) if rel else None
    if module is None:
        return []
    keys = ["dependencies", "optionalDependencies", "peerDependencies"] + (["devDependencies"] if dev_installed else [])
    installed = set()
    for key in keys:
        if isinstance(manifest.get(key), dict):
            installed |= set(manifest[key])
    dev = manifest.get("devDependencies") if isinstance(manifest.get("devDependencies"), dict) else {}
    out = []
    for name in required_packages(project, module):
        if name in installed or any((project.service_root / d / name).exists() for d in ("", "src")):
            continue
        version = dev.get(name)
        out.append(f"{name}@{version}" if isinstance(version, str) and _PLAIN_RANGE.fullmatch(version) else name)
    return out
