"""Java helpers shared by Java framework modules: sources, annotations, constants, builds, config.

Everything here is static: Java sources are parsed with tree-sitter, pom.xml with the XML
parser, Gradle scripts and Spring property files are read as text. Nothing is executed.
"""

from __future__ import annotations

import logging
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import tree_sitter
import yaml

from pipeline.languages import reach
from pipeline.languages import treesitter as ts
from pipeline.languages.java.gradle_to_maven import project_dirs, read_settings
from pipeline.models import Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node
LANGUAGE = "java"
SUFFIXES = (".java",)
BUILD_FILES = ("pom.xml", "build.gradle", "build.gradle.kts")
#: Build output folders: compiled or generated copies, never the sources a module builds from.
OUTPUT_DIRS = frozenset({"target", "out", "bin", ".gradle", ".mvn"})
TYPE_DECLARATIONS = ("class_declaration", "interface_declaration", "enum_declaration", "record_declaration")
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "s": " ", "0": "\0", "\\": "\\", "'": "'", '"': '"'}


def is_main_source(rel_to_module: Path) -> bool:
    """False for build output and test sources (src/test/...), which a running service never serves."""
    parts = rel_to_module.parts[:-1]
    if any(part in OUTPUT_DIRS for part in parts):
        return False
    return not any(
        parts[i] == "src" and parts[i + 1] in ("test", "it", "integrationTest") for i in range(len(parts) - 1)
    )


def read_java_sources(
    root: Path, repo_root: Path, *, skip: Iterable[Path] = (), warnings: list[str] | None = None
) -> list[tuple[Path, str, bytes]]:
    """(path, rel, content) of the main sources under `root`, leaving out `skip` (nested modules)."""
    skipped = tuple(skip)
    out: list[tuple[Path, str, bytes]] = []
    for path, rel, content in ts.iter_files(root, repo_root, lambda n: n.endswith(SUFFIXES), warnings=warnings):
        if is_main_source(path.relative_to(root)) and not any(path.is_relative_to(s) for s in skipped):
            out.append((path, rel, content))
    return out


class LazySources(ts.LazySources):
    """The shared lazy parse (treesitter.LazySources) in this language."""

    def __init__(self, entries: list[tuple[Path, str, bytes]], *, warnings: list[str] | None = None) -> None:
        super().__init__(entries, LANGUAGE, warnings=warnings)


# --------------------------------------------------------------------------- syntax helpers


def modifiers(decl: Node) -> Node | None:
    return next((c for c in decl.children if c.type == "modifiers"), None)


def has_modifier(decl: Node, word: str) -> bool:
    mods = modifiers(decl)
    return mods is not None and any(c.type == word for c in mods.children)


def annotations(decl: Node) -> list[Node]:
    mods = modifiers(decl)
    if mods is None:
        return []
    return [c for c in mods.children if c.type in ("annotation", "marker_annotation")]


def annotation_name(annotation: Node) -> str:
    """The simple name: `@org.springframework.web.bind.annotation.GetMapping` is `GetMapping`."""
    return ts.text(annotation.child_by_field_name("name")).rsplit(".", 1)[-1]


def annotation_args(annotation: Node) -> dict[str, Node]:
    """Element name -> value node; a lone unnamed value is `value`, as in Java itself."""
    args = annotation.child_by_field_name("arguments")
    out: dict[str, Node] = {}
    if args is None:
        return out
    for child in args.named_children:
        if child.type == "comment":
            continue
        if child.type == "element_value_pair":
            key, value = child.child_by_field_name("key"), child.child_by_field_name("value")
            if value is not None:
                out[ts.text(key)] = value
        else:
            out["value"] = child
    return out


def element_values(node: Node | None) -> list[Node]:
    """The items of `{a, b}`, or the single value itself."""
    if node is None:
        return []
    if node.type in ("element_value_array_initializer", "array_initializer"):
        return [c for c in node.named_children if c.type != "comment"]
    return [node]


def string_literal_value(node: Node) -> str | None:
    if node.type != "string_literal":
        return None
    raw = ts.text(node)
    if raw.startswith('"""'):
        # Text block: the content starts after the first line break.
        body = raw[3:-3]
        return body.split("\n", 1)[1] if "\n" in body else body
    out: list[str] = []
    for child in node.named_children:
        if child.type == "string_fragment":
            out.append(ts.text(child))
        elif child.type == "escape_sequence":
            seq = ts.text(child)[1:]
            if seq.startswith("u") and len(seq) == 5:
                out.append(chr(int(seq[1:], 16)))
            else:
                out.append(_ESCAPES.get(seq, seq))
        else:
            return None
    return "".join(out)


def type_name(node: Node | None) -> str:
    """`Foo` for `Foo`, `Foo<Bar>`, `com.x.Foo`, `Outer.Foo`."""
    if node is None:
        return ""
    if node.type == "generic_type":
        node = next((c for c in node.named_children if c.type != "type_arguments"), node)
    return ts.text(node).split("<", 1)[0].rsplit(".", 1)[-1].strip()


# --------------------------------------------------------------------------- project index


@dataclass
class JavaType:
    """A class, interface, enum or record declaration, with what resolution needs."""

    name: str
    node: Node
    sf: ts.SourceFile
    #: names of the enclosing types, innermost first
    outer: list[str]
    superclass: str | None
    interfaces: list[str]
    #: field name -> initializer, for constants used in annotations
    fields: dict[str, Node] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.node.type

    @property
    def body(self) -> Node | None:
        return self.node.child_by_field_name("body")

    def members(self, *types: str) -> list[Node]:
        body = self.body
        return [c for c in body.named_children if c.type in types] if body is not None else []


def _supertypes(decl: Node) -> tuple[str | None, list[str]]:
    superclass = None
    interfaces: list[str] = []
    sup = decl.child_by_field_name("superclass")
    if sup is not None:
        superclass = type_name(next((c for c in sup.named_children), None))
    for child in decl.children:
        # `implements A, B` on classes, `extends A, B` on interfaces
        if child.type in ("super_interfaces", "extends_interfaces"):
            for type_list in child.named_children:
                interfaces.extend(type_name(t) for t in type_list.named_children)
    return superclass, [i for i in interfaces if i]


class JavaProject:
    """Types declared in a service's files, by simple name, plus constant folding.

    Files that `eager` accepts are indexed up front; any other file is parsed only when a
    lookup needs a type it may declare (a base class, a constants class).
    """

    def __init__(self, sources: LazySources, eager: Callable[[bytes], bool] = lambda _: True) -> None:
        self.sources = sources
        self.types: dict[str, list[JavaType]] = {}
        #: file -> [(type, member or "*")] of its `import static` declarations
        self.static_imports: dict[str, list[tuple[str, str]]] = {}
        self._missing: set[str] = set()
        for sf in sources.matching(eager):
            self._index(sf)

    def _index(self, sf: ts.SourceFile) -> None:
        if sf.rel in self.static_imports:
            return
        imports: list[tuple[str, str]] = []
        for child in sf.root.named_children:
            if child.type == "import_declaration" and any(c.type == "static" for c in child.children):
                raw = ts.text(child).removeprefix("import").strip().removeprefix("static").strip().rstrip(";").strip()
                parts = [p.strip() for p in raw.split(".")]
                if len(parts) >= 2:
                    imports.append((parts[-2], parts[-1]))
        self.static_imports[sf.rel] = imports
        stack: list[tuple[Node, list[str]]] = [(sf.root, [])]
        while stack:
            node, outer = stack.pop()
            for child in node.named_children:
                if child.type in TYPE_DECLARATIONS:
                    name = ts.text(child.child_by_field_name("name"))
                    superclass, interfaces = _supertypes(child)
                    jt = JavaType(name, child, sf, outer, superclass, interfaces)
                    for fdecl in jt.members("field_declaration", "constant_declaration"):
                        for declarator in fdecl.children_by_field_name("declarator"):
                            value = declarator.child_by_field_name("value")
                            if value is not None:
                                jt.fields[ts.text(declarator.child_by_field_name("name"))] = value
                    self.types.setdefault(name, []).append(jt)
                    body = child.child_by_field_name("body")
                    if body is not None:
                        stack.append((body, [name, *outer]))
                elif child.type in ("class_body", "interface_body", "enum_body", "enum_body_declarations"):
                    stack.append((child, outer))

    def all_types(self) -> list[JavaType]:
        """The types indexed so far, by name (a snapshot: lookups may index more)."""
        return [jt for name in sorted(self.types) for jt in self.types[name]]

    def lookup(self, name: str) -> JavaType | None:
        found = self.types.get(name)
        if not found and name and name not in self._missing:
            declares = re.compile(rb"\b(?:class|interface|enum|record)\s+" + re.escape(name.encode()) + rb"\b")
            for sf in self.sources.containing(name.encode(), lambda b: declares.search(b) is not None):
                self._index(sf)
            found = self.types.get(name)
            if not found:
                self._missing.add(name)
        return found[0] if found else None

    def ancestry(self, jt: JavaType) -> list[JavaType]:
        """The type, then its interfaces, then its superclass and theirs (Spring's search order)."""
        out: list[JavaType] = []
        seen: set[int] = set()

        def visit(t: JavaType) -> None:
            if id(t.node) in seen:
                return
            seen.add(id(t.node))
            out.append(t)
            for name in t.interfaces:
                if (i := self.lookup(name)) is not None:
                    visit(i)
            if t.superclass and (s := self.lookup(t.superclass)) is not None:
                visit(s)

        visit(jt)
        return out

    # ---------------------------------------------------------------- constants

    def _field_in(self, jt: JavaType, name: str) -> tuple[JavaType, Node] | None:
        for t in self.ancestry(jt):
            if name in t.fields:
                return t, t.fields[name]
        return None

    def string_value(self, node: Node | None, scope: JavaType | None, depth: int = 0) -> str | None:
        """The compile-time string a constant expression folds to, or None."""
        if node is None or depth > 20:
            return None
        if node.type == "string_literal":
            return string_literal_value(node)
        if node.type == "parenthesized_expression":
            inner = next((c for c in node.named_children if c.type != "comment"), None)
            return self.string_value(inner, scope, depth + 1)
        if node.type == "binary_expression" and ts.text(node.child_by_field_name("operator")) == "+":
            left = self.string_value(node.child_by_field_name("left"), scope, depth + 1)
            right = self.string_value(node.child_by_field_name("right"), scope, depth + 1)
            if left is None or right is None:
                return None
            return left + right
        if node.type in ("decimal_integer_literal", "character_literal"):
            return ts.text(node).strip("'")
        if node.type == "identifier":
            return self._identifier_value(ts.text(node), scope, depth)
        if node.type == "field_access":
            owner = type_name(node.child_by_field_name("object"))
            target = self.lookup(owner)
            name = ts.text(node.child_by_field_name("field"))
            found = self._field_in(target, name) if target is not None else None
            if found is not None:
                return self.string_value(found[1], found[0], depth + 1)
        return None

    def _identifier_value(self, name: str, scope: JavaType | None, depth: int) -> str | None:
        if scope is not None:
            # The type's own fields (and inherited ones), then those of enclosing types.
            for t in [scope, *filter(None, (self.lookup(o) for o in scope.outer))]:
                found = self._field_in(t, name)
                if found is not None:
                    return self.string_value(found[1], found[0], depth + 1)
            for owner, member in self.static_imports.get(scope.sf.rel, []):
                if member in (name, "*") and (target := self.lookup(owner)) is not None:
                    found = self._field_in(target, name)
                    if found is not None:
                        return self.string_value(found[1], found[0], depth + 1)
        return None


def handler_for(method: Node, rel: str) -> Handler | None:
    """The Handler of a method declaration, or None when it has no body (abstract, interface)."""
    body = method.child_by_field_name("body")
    if body is None:
        return None
    return ts.handler_at(rel, ts.text(method.child_by_field_name("name")) or "<anonymous>", method, body)


def mask_method(source: bytes, handler: Handler, statement: str) -> bytes:
    """Replace a method's `{ ... }` body by a block holding `statement`, keeping its signature."""
    tree = ts.parse(source, LANGUAGE)
    body = ts.find_exact(tree.root_node, handler.body_start_byte, handler.body_end_byte, {"block", "constructor_body"})
    if body is None or body.parent is None or body.parent.child_by_field_name("body") != body:
        raise ValueError(f"no method body at bytes {handler.body_start_byte}-{handler.body_end_byte} of {handler.file}")
    indent = ts.line_indent(source, body.parent.start_byte)
    step = b"\t" if indent.startswith(b"\t") else b"    "
    new = b"{\n" + indent + step + statement.encode() + b"\n" + indent + b"}"
    out = ts.replace(source, body.start_byte, body.end_byte, new)
    return ts.check_reparses(out, LANGUAGE, f"{handler.file}:{handler.name}")


# --------------------------------------------------------------------------- builds


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if _local(c.tag) == name), None)


def _child_text(element: ET.Element | None, name: str) -> str | None:
    if element is None:
        return None
    found = _child(element, name)
    return found.text.strip() if found is not None and found.text else None


@dataclass
class BuildInfo:
    """What a module's build file says about it."""

    path: Path
    tool: str  # "maven" or "gradle"
    #: artifactId (Maven) or folder name (Gradle)
    name: str
    version: str | None = None
    final_name: str | None = None
    #: artifactIds of the declared dependencies (not dependencyManagement)
    dependencies: set[str] = field(default_factory=set)
    #: names of other modules this one depends on (Maven artifactIds, Gradle project paths' last part)
    module_dependencies: set[str] = field(default_factory=set)
    properties: dict[str, str] = field(default_factory=dict)
    parent_version: str | None = None
    #: the <parent>'s artifactId (Maven)
    parent_name: str | None = None
    #: the <modules> it aggregates, as written (folders relative to it), profiles' included
    modules: list[str] = field(default_factory=list)

    @property
    def dir(self) -> Path:
        return self.path.parent

    def java_version(self) -> str | None:
        for key in ("java.version", "maven.compiler.release", "maven.compiler.target", "maven.compiler.source"):
            if key in self.properties:
                return self.properties[key]
        return self.properties.get("gradle.java")


def read_pom(path: Path, content: bytes) -> BuildInfo | None:
    try:
        root = ET.fromstring(content)
    except ET.ParseError as exc:
        log.warning("skipped %s: not valid XML (%s)", path, exc)
        return None
    parent = _child(root, "parent")
    info = BuildInfo(
        path=path,
        tool="maven",
        name=_child_text(root, "artifactId") or path.parent.name,
        version=_child_text(root, "version"),
        parent_version=_child_text(parent, "version"),
        parent_name=_child_text(parent, "artifactId"),
    )
    # <modules> of the project and of its profiles: a module listed only under a profile
    # is still built from this folder (with the profile, or on its own with -pl).
    info.modules = [m.text.strip() for m in root.iter() if _local(m.tag) == "module" and m.text and m.text.strip()]
    props = _child(root, "properties")
    if props is not None:
        info.properties = {_local(p.tag): (p.text or "").strip() for p in props}
    build = _child(root, "build")
    info.final_name = _child_text(build, "finalName")
    deps = _child(root, "dependencies")
    if deps is not None:
        for dep in deps:
            artifact = _child_text(dep, "artifactId")
            if artifact:
                info.dependencies.add(artifact)
                info.module_dependencies.add(artifact)
    return info


_GRADLE_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_GRADLE_DEP = re.compile(r"""['"]([\w.\-]+):([\w.\-]+)(?::[^'"]*)?['"]""")
_GRADLE_PROJECT = re.compile(r"""project\(\s*(?:path\s*[:=]\s*)?['"]:?([\w.\-:]+)['"]""")
_GRADLE_VERSION = re.compile(r"""^\s*version\s*=?\s*['"]([^'"]+)['"]""", re.M)
_GRADLE_JAVA = re.compile(
    r"(?:languageVersion\s*(?:=|\.set\()\s*JavaLanguageVersion\.of\(\s*(\d+)|"
    r"sourceCompatibility\s*=\s*(?:JavaVersion\.VERSION_)?['\"]?(\d+(?:\.\d+)?))"
)


def read_gradle(path: Path, content: bytes) -> BuildInfo:
    script = _GRADLE_COMMENT.sub("", content.decode("utf-8", errors="replace"))
    info = BuildInfo(path=path, tool="gradle", name=path.parent.name)
    for match in _GRADLE_DEP.finditer(script):
        info.dependencies.add(match.group(2))
    # Spring Boot starters written as `implementation("org.springframework.boot:spring-boot-starter-web")`
    # are caught above; a version catalog alias (libs.spring.boot.starter.web) is caught here.
    for alias in re.findall(r"libs\.([\w.]+)", script):
        info.dependencies.add(alias.replace(".", "-"))
    for match in _GRADLE_PROJECT.finditer(script):
        info.module_dependencies.add(match.group(1).rsplit(":", 1)[-1])
    if version := _GRADLE_VERSION.search(script):
        info.version = version.group(1)
    if java := _GRADLE_JAVA.search(script):
        info.properties["gradle.java"] = java.group(1) or java.group(2)
    return info


def read_build(path: Path, content: bytes) -> BuildInfo | None:
    if path.name == "pom.xml":
        return read_pom(path, content)
    return read_gradle(path, content)


def find_builds(repo_root: Path) -> dict[Path, BuildInfo]:
    """Every module of the repository: its folder -> what its build file says (pom.xml first)."""
    out: dict[Path, BuildInfo] = {}
    for path, _rel, content in ts.iter_files(repo_root, repo_root, lambda n: n in BUILD_FILES):
        if not is_main_source(path.relative_to(repo_root)):
            continue
        if path.parent in out and out[path.parent].tool == "maven":
            continue
        info = read_build(path, content)
        if info is not None:
            out[path.parent] = info
    return out


def reactor_root(module: Path, builds: dict[Path, BuildInfo]) -> Path:
    """The folder Maven must build `module` from: the module itself when it builds alone, else
    the top of the chain of aggregator poms (<modules>) above it.

    A module whose <parent> is a pom of the repository, or which depends on another module of
    it, does not build alone (the parent or the sibling is not in any remote repository):
    `mvn -pl <module> -am package` from the aggregator builds it with what it needs.
    """
    info = builds.get(module)
    if info is not None and info.tool == "gradle":
        return _gradle_settings_root(module)
    if info is None or info.tool != "maven":
        return module
    names = {b.name for d, b in builds.items() if d != module and b.tool == "maven"}
    if info.parent_name not in names and not (info.module_dependencies & names):
        return module
    current = module.resolve()
    while True:
        above = next(
            (
                d
                for d in current.parents
                if d in builds
                and builds[d].tool == "maven"
                and any((d / m).resolve() == current for m in builds[d].modules)
            ),
            None,
        )
        if above is None:
            return current
        current = above.resolve()


def aggregator_reach(root: Path, repo_root: Path) -> list[reach.Reach]:
    """The aggregator a Maven module served from its own folder is built from (one of several
    apps of one reactor, SpringFramework.detect): its parent pom and the sibling modules it
    depends on are in no remote repository, so the build context must hold them."""
    repo_root = repo_root.resolve()
    builds = find_builds(repo_root)
    module = root.resolve()
    info = builds.get(module)
    if info is None or info.tool != "maven":
        return []
    top = reactor_root(module, builds)
    if top == module:
        return []
    rel = top.relative_to(repo_root).as_posix()
    said = f"{rel}/pom.xml" if rel != "." else "pom.xml"
    found = reach.outside(module, repo_root, top, f"{said}: the aggregator that builds {info.name} with its modules")
    return [found] if found is not None else []


def _gradle_settings_root(project: Path) -> Path:
    """The folder Gradle builds `project` from: the nearest folder above it whose settings
    include it (Gradle looks upward for them, and the root script's allprojects/subprojects
    blocks and version catalog belong to the build), else the project itself."""
    current = project.resolve()
    if any((current / name).is_file() for name in ("settings.gradle", "settings.gradle.kts")):
        return current
    for folder in current.parents:
        settings = read_settings(folder)
        if settings.strip():
            included = {(folder / d).resolve() for d in project_dirs(settings).values()}
            return folder if current in included else current
        if (folder / ".git").exists():
            break
    return current


def module_of_entrypoint(root: Path, entrypoint: str | None, builds: dict[Path, BuildInfo]) -> Path:
    """The module that holds the entrypoint (the deepest build folder above it), else `root`."""
    if not entrypoint:
        return root
    file = (root / entrypoint).resolve()
    return next((d for d in file.parents if d in builds and d.is_relative_to(root)), root)


# --------------------------------------------------------------------------- Spring config


def _flatten(value: object, prefix: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, sub in value.items():
            _flatten(sub, f"{prefix}.{key}" if prefix else str(key), out)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            _flatten(sub, f"{prefix}[{index}]", out)
    elif value is not None:
        out[prefix] = str(value).lower() if isinstance(value, bool) else str(value)


def read_properties(text: str) -> dict[str, str]:
    """A .properties file: `key=value`, `key: value` or `key value`, with `\\` continuations."""
    out: dict[str, str] = {}
    logical = re.sub(r"\\\r?\n[ \t]*", "", text)
    for line in logical.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "!")):
            continue
        match = re.match(r"((?:[^=:\s\\]|\\.)+)\s*[=:\s]\s*(.*)", line)
        if match:
            out[match.group(1).replace("\\", "")] = match.group(2).strip()
        else:
            out[line] = ""
    return out


def read_spring_config(module_dir: Path) -> dict[str, str]:
    """The default-profile properties of a Spring Boot module (application.properties/yml)."""
    out: dict[str, str] = {}
    for folder in (module_dir / "src" / "main" / "resources", module_dir / "src" / "main" / "resources" / "config"):
        for name in ("application.yml", "application.yaml", "application.properties"):
            path = folder / name
            if not path.is_file():
                continue
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if name.endswith(".properties"):
                out.update(read_properties(text))
                continue
            try:
                documents = list(yaml.safe_load_all(_unfiltered(text)))
            except yaml.YAMLError as exc:
                log.warning("skipped %s: not valid YAML (%s)", path, exc)
                continue
            for doc in documents:
                flat: dict[str, str] = {}
                _flatten(doc, "", flat)
                # Profile-specific documents only apply when that profile is active.
                if any(k in flat for k in ("spring.config.activate.on-profile", "spring.profiles")):
                    continue
                out.update(flat)
    return out


def read_all_spring_config(module_dir: Path) -> dict[str, str]:
    """Every property of every profile's application*.yml/properties of a module, merged (the
    default profile's last): what some profile may set, when which one is active is not
    known statically (`spring.profiles.active: @profiles.active@` is Maven's to fill)."""
    out: dict[str, str] = {}
    for folder in (module_dir / "src" / "main" / "resources", module_dir / "src" / "main" / "resources" / "config"):
        for path in sorted(folder.glob("application-*")):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            if path.suffix == ".properties":
                out.update(read_properties(text))
            elif path.suffix in (".yml", ".yaml"):
                try:
                    for doc in yaml.safe_load_all(_unfiltered(text)):
                        _flatten(doc, "", out)
                except yaml.YAMLError:
                    continue
    out.update(read_spring_config(module_dir))
    return out


def read_active_spring_config(module_dir: Path) -> dict[str, str]:
    """The default profile's properties and those of the profiles it activates
    (`spring.profiles.active: dev` reads application-dev.yml too); every profile's when the
    active ones are not known statically (a Maven `@profiles.active@` token, a placeholder)."""
    default = read_spring_config(module_dir)
    active = default.get("spring.profiles.active", "")
    names = [p.strip() for p in active.split(",") if p.strip()]
    if not names or any(not re.fullmatch(r"[\w\-]+", p) for p in names):
        return read_all_spring_config(module_dir)
    out: dict[str, str] = {}
    for folder in (module_dir / "src" / "main" / "resources", module_dir / "src" / "main" / "resources" / "config"):
        for profile in names:
            for suffix in (".properties", ".yml", ".yaml"):
                path = folder / f"application-{profile}{suffix}"
                try:
                    text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
                except OSError:
                    continue
                if suffix == ".properties":
                    out.update(read_properties(text))
                    continue
                try:
                    for doc in yaml.safe_load_all(_unfiltered(text)):
                        _flatten(doc, "", out)
                except yaml.YAMLError:
                    continue
    # A profile's file overrides the default's values, as Spring does.
    return {**default, **out}


_PLACEHOLDER = re.compile(r"\$\{([^}:]+)(:[^}]*)?\}")
# Maven's resource filtering fills `key: @profiles.active@` at build time; unfilled, the
# `@` makes the file invalid YAML, and every key in it was lost (RuoYi's application.yml).
_MAVEN_TOKEN = re.compile(r"^(\s*[\w.\-]+:[ \t]+)(@[\w.\-]+@)[ \t]*$", re.MULTILINE)


def _unfiltered(text: str) -> str:
    """YAML text with Maven's unfilled `@token@` values quoted."""
    return _MAVEN_TOKEN.sub(r'\1"\2"', text)


def placeholder_default(value: str) -> str | None:
    """`8080` for `${PORT:8080}`, the value itself when it holds no placeholder."""
    match = _PLACEHOLDER.fullmatch(value.strip())
    if match is None:
        return value
    return match.group(2)[1:] if match.group(2) else None


def env_name(key: str) -> str:
    """The environment variable Spring's relaxed binding reads for a property key."""
    return key.replace(".", "_").replace("-", "").upper()


def _optional_getenv(call: Node) -> bool:
    parent = call.parent
    if parent is None:
        return False
    if parent.type == "binary_expression" and any(c.type == "null_literal" for c in parent.named_children):
        return True
    if parent.type == "argument_list" and parent.parent is not None:
        name = ts.text(parent.parent.child_by_field_name("name"))
        if name in ("ofNullable", "requireNonNullElse", "requireNonNullElseGet", "isNull", "nonNull"):
            return True
    return parent.type == "ternary_expression" and parent.child_by_field_name("condition") == call


@cache
def _env_query() -> tree_sitter.Query:
    return tree_sitter.Query(ts.get_language(LANGUAGE), "(method_invocation) @read (annotation) @read")


def _env_reads(node: Node) -> list[Node]:
    """Calls and annotations under `node` (a query: far cheaper than a Python walk)."""
    captures = tree_sitter.QueryCursor(_env_query()).captures(node)
    return sorted(captures.get("read", []), key=lambda n: n.start_byte)


# A placeholder's value of the kind its field or parameter is declared as: Spring refuses
# to start on "dummy-X" for a boolean or a number (RuoYi's `@Value("${autoRemovePre}")
# boolean`); a flag stays off, a number is small.
_VALUE_OF_KIND = {
    **dict.fromkeys(("boolean", "Boolean"), "false"),
    **dict.fromkeys(
        ("int", "Integer", "long", "Long", "short", "Short", "byte", "Byte", "double", "Double", "float", "Float"),
        "1",
    ),
    **dict.fromkeys(("BigDecimal", "BigInteger", "Number"), "1"),
}


def _annotated_type(annotation: Node) -> str:
    """The declared type of the field or parameter an annotation is on (a setter's one
    parameter), else ""."""
    decl = annotation.parent
    if decl is not None and decl.type == "modifiers":
        decl = decl.parent
    if decl is not None and decl.type == "method_declaration":
        params = decl.child_by_field_name("parameters")
        formal = [c for c in params.named_children if c.type == "formal_parameter"] if params is not None else []
        decl = formal[0] if len(formal) == 1 else None
    if decl is None or decl.type not in ("field_declaration", "formal_parameter"):
        return ""
    return type_name(decl.child_by_field_name("type"))


_CLASSPATH_FILE = re.compile(r"^classpath\*?:/?")


def _property_source_keys(files: list[ts.SourceFile]) -> dict[str, str]:
    """What the files `@PropertySource("classpath:x.yml")` loads define: Spring reads them as
    properties files (a YAML file too, line by line), from the module's resources."""
    out: dict[str, str] = {}
    for sf in files:
        if b"@PropertySource" not in sf.source:
            continue
        parts = sf.path.parts
        if "java" not in parts:
            continue
        resources = Path(*parts[: len(parts) - parts[::-1].index("java") - 1]) / "resources"
        for node in _env_reads(sf.root):
            if node.type != "annotation" or annotation_name(node) != "PropertySource":
                continue
            args = annotation_args(node)
            for value in element_values(args.get("value")):
                literal = string_literal_value(value) if value.type == "string_literal" else None
                name = _CLASSPATH_FILE.sub("", literal or "")
                target = resources / name
                if name and target.is_file():
                    out.update(read_properties(target.read_text(errors="replace")))
    return out


def required_env(files: Iterable[ts.SourceFile], config: dict[str, str]) -> dict[str, str]:
    """Env vars the code and the Spring config read with no default, with dummy values.

    `System.getenv("X")` used without a null check, `@Value("${x.y}")` and `${X}` in
    application.properties when nothing defines the key (Spring then reads X_Y from the env).
    """
    out: dict[str, str] = {}
    files = list(files)
    config = {**_property_source_keys(files), **config}

    def placeholders(value: str, kind: str = "") -> None:
        for match in _PLACEHOLDER.finditer(value):
            key = match.group(1).strip()
            if match.group(2) is None and key not in config and re.fullmatch(r"[\w.\-]+", key):
                out.setdefault(env_name(key), _VALUE_OF_KIND.get(kind, f"dummy-{env_name(key)}"))

    for sf in files:
        if b"getenv" not in sf.source and b"@Value" not in sf.source:
            continue
        for node in _env_reads(sf.root):
            if node.type == "method_invocation":
                name = ts.text(node.child_by_field_name("name"))
                obj = ts.text(node.child_by_field_name("object"))
                args = node.child_by_field_name("arguments")
                first = args.named_children[0] if args is not None and args.named_children else None
                var = string_literal_value(first) if first is not None and first.type == "string_literal" else None
                getenv = name == "getenv" and obj in ("System", "java.lang.System")
                env_get = name == "get" and obj.replace(" ", "") in ("System.getenv()", "java.lang.System.getenv()")
                if var and (getenv or env_get) and not _optional_getenv(node):
                    out.setdefault(var, f"dummy-{var}")
            elif node.type in ("annotation",) and annotation_name(node) == "Value":
                value = annotation_args(node).get("value")
                if value is not None and value.type == "string_literal":
                    placeholders(string_literal_value(value) or "", _annotated_type(node))
    for value in config.values():
        placeholders(value)
    return dict(sorted(out.items()))
