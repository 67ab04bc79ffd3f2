"""ASP.NET Core: attribute-routed controllers, minimal APIs with groups, and masking.

A service is a project whose *.csproj uses `Microsoft.NET.Sdk.Web`; its sources are the
project's folder (without nested projects and bin/obj) plus the projects it references,
since ASP.NET also finds controllers in referenced assemblies.

Controllers follow ASP.NET's own rules: a public, non-abstract class named `*Controller`
or deriving from Controller/ControllerBase (or marked [Controller]); class-level [Route]
templates (also inherited from a base controller) combine with the action's [HttpX],
[Route] and [AcceptVerbs] templates; `/` and `~/` make a template absolute. Tokens
[controller], [action] and [area] are replaced keeping the class's case
(`ProductsController` gives `api/Products`), exactly as ASP.NET generates the route;
ASP.NET matches paths case-insensitively. Conventional routes (MapControllerRoute,
MapDefaultControllerRoute) give the remaining controllers' actions paths such as
`/Home/Index/{id?}`.

Minimal APIs: `MapGet/MapPost/MapPut/MapPatch/MapDelete/MapMethods/Map` on the app, on
`MapGroup` groups (nested, through variables) and on parameters of helper or extension
methods, followed back to every call site.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import tree_sitter

from pipeline.languages import treesitter as ts
from pipeline.languages.csharp import discovery as cs
from pipeline.languages.framework import Framework, RuntimeHints, ServiceCandidate, canned_json
from pipeline.models import CannedAnswer, Endpoint, Handler

log = logging.getLogger(__name__)

Node = tree_sitter.Node

WEB_SDK = "Microsoft.NET.Sdk.Web"
DEFAULT_PORT = 8080
DEFAULT_ROUTE = "{controller=Home}/{action=Index}/{id?}"
_HTTP_ATTRIBUTES = {
    "HttpGet": "GET",
    "HttpPost": "POST",
    "HttpPut": "PUT",
    "HttpPatch": "PATCH",
    "HttpDelete": "DELETE",
    "HttpHead": "HEAD",
    "HttpOptions": "OPTIONS",
}
_MAP_VERBS = {"MapGet": "GET", "MapPost": "POST", "MapPut": "PUT", "MapPatch": "PATCH", "MapDelete": "DELETE"}
_NOT_BUILDERS = {*_MAP_VERBS, "Map", "MapMethods", "MapControllers", "MapHub", "MapHealthChecks", "MapFallback"}
_ENTRY_FILES = ("Program.cs", "Startup.cs")

_MVC_RESULTS = re.compile(r"^(?:[\w.:]*\.)?(IActionResult|ActionResult)(<.*>)?$", re.S)
_HTTP_RESULT = re.compile(r"^(?:[\w.:]*\.)?IResult$")
_TASK = re.compile(r"^(?:[\w.:]*\.)?(Task|ValueTask)<(.*)>$", re.S)
MINIMAL_RESULT = "Microsoft.AspNetCore.Http.Results.StatusCode(501)"
THROW = "throw new System.NotImplementedException()"


def _cs_string(answer: CannedAnswer) -> str | None:
    """The canned JSON body as a C# string literal (ASCII: JSON's escapes are C#'s)."""
    text = canned_json(answer)
    return None if text is None else json.dumps(text)


def _minimal(answer: CannedAnswer | None) -> str:
    """An IResult answering `answer` (501 without one). Results.Json with a parsed
    JsonElement writes the JSON as it is, and takes a status since .NET 6."""
    literal = _cs_string(answer) if answer is not None else None
    if answer is None:
        return MINIMAL_RESULT
    if literal is None:
        return f"Microsoft.AspNetCore.Http.Results.StatusCode({answer.status})"
    element = f"System.Text.Json.JsonDocument.Parse({literal}).RootElement"
    return f"Microsoft.AspNetCore.Http.Results.Json({element}, statusCode: {answer.status})"


def _mvc(answer: CannedAnswer) -> str:
    """An ActionResult answering `answer` (it converts to IActionResult and ActionResult<T>)."""
    literal = _cs_string(answer)
    if literal is None:
        return f"new Microsoft.AspNetCore.Mvc.StatusCodeResult({answer.status})"
    return (
        f"new Microsoft.AspNetCore.Mvc.ContentResult {{ StatusCode = {answer.status}, "
        f'ContentType = "application/json", Content = {literal} }}'
    )


def _finish(template: str) -> str:
    """A route template as a request path: `~/` and surrounding slashes do not matter to routing."""
    return "/" + template.removeprefix("~").strip("/")


def route_join(prefix: str, template: str | None) -> str:
    """An action template under a controller template (absolute templates stand alone)."""
    if template is None or template == "":
        return prefix
    if template.startswith(("/", "~/")):
        return template
    if not prefix:
        return template
    return prefix.rstrip("/") + "/" + template


def group_join(prefix: str, pattern: str) -> str:
    """A minimal API pattern under its group prefix, as RoutePatternFactory combines them."""
    path = prefix.rstrip("/") + "/" + pattern.lstrip("/") if pattern.strip("/") else prefix
    return _finish(path)


@dataclass
class _Selector:
    template: str | None
    methods: list[str]


@dataclass
class _Scope:
    #: local variable -> initializer
    locals: dict[str, Node] = field(default_factory=dict)
    #: local function -> declaration
    functions: dict[str, Node] = field(default_factory=dict)


def _arguments(call: Node) -> tuple[list[Node], dict[str, Node]]:
    args = call.child_by_field_name("arguments")
    positional: list[Node] = []
    named: dict[str, Node] = {}
    for arg in args.named_children if args is not None else []:
        if arg.type != "argument" or not arg.named_children:
            continue
        name = arg.child_by_field_name("name")
        value = arg.named_children[-1]
        if name is not None:
            named[ts.text(name)] = value
        else:
            positional.append(value)
    return positional, named


def _call_name(call: Node) -> str:
    fn = call.child_by_field_name("function")
    if fn is None:
        return ""
    if fn.type == "member_access_expression":
        return cs.type_name(fn.child_by_field_name("name"))
    return cs.type_name(fn)


class _Analysis:
    """One pass over a service's files: types, calls by name, and minimal API evaluation."""

    def __init__(self, project: cs.CsProject) -> None:
        self.project = project
        self._file_calls: dict[str, list[Node]] = {}
        self._calls: dict[str, list[tuple[ts.SourceFile, Node]]] = {}
        self._scopes: dict[tuple[str, int], _Scope] = {}
        self._values: dict[tuple[str, int, int], list[str] | None] = {}
        self._busy: set[tuple[str, int, int]] = set()

    def calls(self, name: str) -> list[tuple[ts.SourceFile, Node]]:
        """Every call of a method named `name`; only files that spell the name are searched."""
        found = self._calls.get(name)
        if found is not None:
            return found
        found = []
        needle = name.encode()
        for sf in self.project.sources.containing(needle):
            if sf.rel not in self._file_calls:
                self._file_calls[sf.rel] = cs.invocations(sf.root)
            found.extend((sf, call) for call in self._file_calls[sf.rel] if _call_name(call) == name)
        self._calls[name] = found
        return found

    # ---------------------------------------------------------------- scopes

    def scope(self, sf: ts.SourceFile, owner: Node) -> _Scope:
        key = (sf.rel, owner.start_byte)
        found = self._scopes.get(key)
        if found is not None:
            return found
        scope = _Scope()
        if owner.type == "compilation_unit":
            roots = [c for c in owner.named_children if c.type == "global_statement"]
        else:
            body = cs.function_body(owner)
            roots = [body] if body is not None else []
        for root in roots:
            for node in ts.find_all(root, "variable_declarator", "local_function_statement"):
                name = ts.text(node.child_by_field_name("name"))
                if node.type == "local_function_statement":
                    scope.functions.setdefault(name, node)
                    continue
                value = [c for c in node.named_children if c != node.child_by_field_name("name")]
                if value:
                    scope.locals.setdefault(name, value[-1])
        self._scopes[key] = scope
        return scope

    def resolve(self, sf: ts.SourceFile, node: Node, name: str) -> tuple[str, Node, int]:
        """("local", initializer, 0), ("param", function, index) or ("", node, 0)."""
        for anc in ts.ancestors(node):
            if anc.type in cs.FUNCTION_TYPES or anc.type == "constructor_declaration":
                for index, param in enumerate(cs.parameters(anc)):
                    if cs.param_name(param) == name:
                        return "param", anc, index
                if name in (scope := self.scope(sf, anc)).locals:
                    return "local", scope.locals[name], 0
            elif anc.type == "compilation_unit" and name in (scope := self.scope(sf, anc)).locals:
                return "local", scope.locals[name], 0
        return "", node, 0

    # ---------------------------------------------------------------- builder values

    def value(self, sf: ts.SourceFile, node: Node | None, depth: int = 0) -> list[str] | None:
        """The route prefixes an expression stands for when it is the app or a group, else None."""
        if node is None or depth > 30:
            return None
        key = (sf.rel, node.start_byte, node.end_byte)
        if key in self._values:
            return self._values[key]
        if key in self._busy:
            return None
        self._busy.add(key)
        try:
            result = self._value(sf, node, depth)
        finally:
            self._busy.discard(key)
        self._values[key] = result
        return result

    def _value(self, sf: ts.SourceFile, node: Node, depth: int) -> list[str] | None:
        if node.type in ("parenthesized_expression", "postfix_unary_expression", "await_expression"):
            inner = next((c for c in node.named_children if c.type != "comment"), None)
            return self.value(sf, inner, depth + 1)
        if node.type == "identifier":
            kind, target, index = self.resolve(sf, node, ts.text(node))
            if kind == "local":
                return self.value(sf, target, depth + 1)
            if kind == "param":
                return self._param_value(sf, target, index, depth)
            return None
        if node.type != "invocation_expression":
            return None
        fn = node.child_by_field_name("function")
        if fn is None or fn.type != "member_access_expression":
            return None
        name = cs.type_name(fn.child_by_field_name("name"))
        receiver = fn.child_by_field_name("expression")
        if name == "Build" or (name == "Create" and cs.type_name(receiver) == "WebApplication"):
            return [""]
        if name in _NOT_BUILDERS:
            return None
        base = self.value(sf, receiver, depth + 1)
        if base is None:
            return None
        if name == "MapGroup":
            positional, named = _arguments(node)
            prefix = self.string(sf, positional[0] if positional else named.get("prefix"))
            if prefix is None:
                log.warning("%s: cannot read the MapGroup prefix statically", sf.rel)
                return None
            return [group_join(b, prefix) for b in base]
        # Fluent configuration (WithTags, RequireAuthorization, ...) returns the same builder.
        return base

    def _param_value(self, sf: ts.SourceFile, fn: Node, index: int, depth: int) -> list[str] | None:
        if fn.type in ("lambda_expression", "anonymous_method_expression"):
            # `app.UseEndpoints(endpoints => ...)` hands the lambda the app's route builder.
            call = next((a for a in ts.ancestors(fn) if a.type == "invocation_expression"), None)
            return [""] if call is not None and _call_name(call) == "UseEndpoints" else None
        name = cs.function_name(fn)
        params = cs.parameters(fn)
        extension = index == 0 and params and "this" in {ts.text(c) for c in params[0].children if c.type == "modifier"}
        out: list[str] = []
        calls = self.calls(name)
        for csf, call in calls:
            callee = call.child_by_field_name("function")
            positional, _named = _arguments(call)
            arg: Node | None
            if callee is not None and callee.type == "member_access_expression":
                receiver = callee.child_by_field_name("expression")
                static_call = self.project.lookup(cs.type_name(receiver)) is not None
                if static_call:
                    arg = positional[index] if index < len(positional) else None
                elif extension:
                    arg = receiver
                else:
                    shift = 1 if params and "this" in {ts.text(c) for c in params[0].children} else 0
                    arg = positional[index - shift] if 0 <= index - shift < len(positional) else None
            else:
                arg = positional[index] if index < len(positional) else None
            for prefix in self.value(csf, arg, depth + 1) or []:
                if prefix not in out:
                    out.append(prefix)
        if not calls and name == "Configure":
            # Startup.Configure(IApplicationBuilder app) is called by the host, not by the code.
            return [""]
        return out or None

    def string(self, sf: ts.SourceFile, node: Node | None) -> str | None:
        if node is None:
            return None
        value = self.project.string_value(node, self.project.enclosing_type(node))
        if value is None and node.type == "identifier":
            kind, target, _ = self.resolve(sf, node, ts.text(node))
            if kind == "local":
                value = self.project.string_value(target, self.project.enclosing_type(target))
        return value

    # ---------------------------------------------------------------- handlers

    def handler(self, sf: ts.SourceFile, node: Node) -> tuple[ts.SourceFile, Node] | None:
        """The function a minimal API handler argument designates."""
        while node.type in ("parenthesized_expression", "cast_expression"):
            node = node.child_by_field_name("value") or node.named_children[-1]
        if node.type in ("lambda_expression", "anonymous_method_expression"):
            return sf, node
        if node.type == "identifier":
            name = ts.text(node)
            for anc in ts.ancestors(node):
                if anc.type in cs.FUNCTION_TYPES or anc.type == "compilation_unit":
                    fn = self.scope(sf, anc).functions.get(name)
                    if fn is not None:
                        return sf, fn
                if anc.type in cs.TYPE_DECLARATIONS and (members := anc.child_by_field_name("body")) is not None:
                    for member in members.named_children:
                        if member.type == "method_declaration" and ts.text(member.child_by_field_name("name")) == name:
                            return sf, member
            kind, target, _ = self.resolve(sf, node, name)
            if kind == "local" and target.type in ("lambda_expression", "anonymous_method_expression"):
                return sf, target
            return self._unique_method(name)
        if node.type == "member_access_expression":
            name = ts.text(node.child_by_field_name("name"))
            owner = self.project.lookup(cs.type_name(node.child_by_field_name("expression")))
            if owner is not None:
                for t in self.project.chain(owner):
                    for member in t.members("method_declaration"):
                        if ts.text(member.child_by_field_name("name")) == name:
                            return t.sf, member
            return self._unique_method(name)
        return None

    def _unique_method(self, name: str) -> tuple[ts.SourceFile, Node] | None:
        found = self.project.methods_named(name)
        return (found[0][0].sf, found[0][1]) if len(found) == 1 else None


def _methods_of(node: Node | None) -> list[str]:
    """The verbs of MapMethods' `new[] { "GET", HttpMethods.Post }` / `["GET"]`."""
    out: list[str] = []
    for item in ts.walk(node) if node is not None else []:
        verb = None
        if item.type in ("string_literal", "verbatim_string_literal"):
            verb = cs.literal_value(item)
        elif item.type == "member_access_expression" and cs.type_name(item.child_by_field_name("expression")) in (
            "HttpMethods",
            "HttpMethod",
        ):
            verb = ts.text(item.child_by_field_name("name"))
        if verb and verb.upper() not in out:
            out.append(verb.upper())
    return out


def _is_branch(handler: Node) -> bool:
    """`app.Map("/x", branch => branch.Run(...))` is middleware branching, not an endpoint."""
    if handler.type != "lambda_expression":
        return False
    params = cs.parameters(handler)
    if len(params) != 1 or params[0].type != "implicit_parameter":
        return False
    body = ts.text(handler.child_by_field_name("body"))
    name = cs.param_name(params[0])
    return re.search(rf"\b{re.escape(name)}\s*\.\s*(Run|Use\w*|Map\w*)\s*\(", body) is not None


def _maybe_controller(source: bytes) -> bool:
    return any(word in source for word in (b"Controller", b"Route", b"[Http", b"AcceptVerbs"))


class AspNetCoreFramework(Framework):
    name = "aspnetcore"
    #: dependency names (lower case) that say a repository uses it, read from its root manifests
    dependency_names = ("microsoft.aspnetcore.app",)
    language = "csharp"

    # ------------------------------------------------------------------ detect

    def detect(self, repo_root: Path) -> list[ServiceCandidate]:
        repo_root = repo_root.resolve()
        found: dict[Path, ServiceCandidate] = {}
        for path, _rel, content in ts.iter_files(repo_root, repo_root, lambda n: n.endswith(".csproj")):
            if WEB_SDK.encode() not in content or any(p in cs.OUTPUT_DIRS for p in path.relative_to(repo_root).parts):
                continue
            info = cs.read_csproj(path, content)
            if info is None or info.sdk != WEB_SDK or path.parent in found:
                continue
            found[path.parent] = ServiceCandidate(root=path.parent, entrypoint=self._entrypoint(path.parent))
        return [found[root] for root in sorted(found)]

    @staticmethod
    def _entrypoint(root: Path) -> str | None:
        for name in _ENTRY_FILES:
            if (root / name).is_file():
                return name
        return None

    # ------------------------------------------------------------------ discover

    def _projects(self, repo_root: Path, root: Path) -> list[tuple[Path, list[Path]]]:
        """(folder, nested project folders to skip) of the service and the projects it references."""
        out: list[tuple[Path, list[Path]]] = []
        pending = [root]
        while pending:
            folder = pending.pop(0)
            if any(folder == f for f, _ in out) or not folder.is_relative_to(repo_root) or not folder.is_dir():
                continue
            nested: list[Path] = []
            for path, _rel, content in ts.iter_files(folder, repo_root, lambda n: n.endswith(".csproj")):
                if path.parent != folder:
                    nested.append(path.parent)
                elif (info := cs.read_csproj(path, content)) is not None:
                    pending.extend(info.references)
            out.append((folder, nested))
        return out

    def _sources(self, repo_root: Path, root: Path) -> cs.LazySources:
        entries: list[tuple[Path, str, bytes]] = []
        for folder, nested in self._projects(repo_root, root):
            entries.extend(cs.read_cs_sources(folder, repo_root, skip=nested))
        return cs.LazySources(entries)

    def discover(self, repo_root: Path, service: ServiceCandidate) -> list[Endpoint]:
        repo_root = repo_root.resolve()
        # Controllers spell one of these; minimal API calls and other types load on demand.
        project = cs.CsProject(self._sources(repo_root, service.root.resolve()), eager=_maybe_controller)
        analysis = _Analysis(project)
        endpoints: dict[tuple[str, str], Endpoint] = {}

        def add(method: str, path: str, handler: Handler) -> None:
            endpoints.setdefault((path, method), Endpoint(method=method, path=path, handler=handler))

        for method, path, handler in self._controller_routes(analysis):
            add(method, path, handler)
        for method, path, handler in self._minimal_routes(analysis):
            add(method, path, handler)
        return [endpoints[k] for k in sorted(endpoints)]

    # ------------------------------------------------------------------ controllers

    def _conventional(self, analysis: _Analysis) -> list[tuple[str, str | None]]:
        """(pattern, area) of every conventional route the app registers."""
        out: list[tuple[str, str | None]] = []
        for name in ("MapDefaultControllerRoute", "UseMvcWithDefaultRoute"):
            if analysis.calls(name):
                out.append((DEFAULT_ROUTE, None))
        for name, index in (("MapControllerRoute", 1), ("MapRoute", 1), ("MapAreaControllerRoute", 2)):
            for sf, call in analysis.calls(name):
                positional, named = _arguments(call)
                node = named.get("pattern") or named.get("template")
                if node is None and index < len(positional):
                    node = positional[index]
                pattern = analysis.string(sf, node)
                area = None
                if name == "MapAreaControllerRoute":
                    area = analysis.string(
                        sf, named.get("areaName") or (positional[1] if len(positional) > 1 else None)
                    )
                if pattern is not None and (pattern, area) not in out:
                    out.append((pattern, area))
        return out

    def _controller_routes(self, analysis: _Analysis) -> list[tuple[str, str, Handler]]:
        project = analysis.project
        conventional = self._conventional(analysis)
        out: list[tuple[str, str, Handler]] = []
        for ct in project.all_types():
            if not self._is_controller(project, ct):
                continue
            chain = project.chain(ct)
            controller = ct.name.removesuffix("Controller") if ct.name != "Controller" else ct.name
            # [Route] is inherited: the nearest class in the chain that has some gives all templates.
            route_owner = next(
                (t for t in chain if any(cs.attribute_name(a) == "Route" for a in cs.attributes(t.node))), None
            )
            templates: list[str] = []
            for attr in cs.attributes(route_owner.node) if route_owner is not None else []:
                positional, named = cs.attribute_args(attr)
                value = project.string_value(positional[0] if positional else named.get("template"), route_owner)
                if cs.attribute_name(attr) == "Route" and value is not None:
                    templates.append(value)
            area = next(
                (
                    project.string_value((cs.attribute_args(a)[0] or [None])[0], t)
                    for t in chain
                    for a in cs.attributes(t.node)
                    if cs.attribute_name(a) == "Area"
                ),
                None,
            )
            seen: set[tuple[str, int]] = set()
            for t in chain:
                for method in t.members("method_declaration"):
                    mods = cs.modifiers(method)
                    key = (ts.text(method.child_by_field_name("name")), len(cs.parameters(method)))
                    if key in seen:
                        continue
                    seen.add(key)
                    if "public" not in mods or mods & {"static", "abstract"}:
                        continue
                    if any(c.type == "type_parameter_list" for c in method.children):
                        continue
                    attrs = self._action_attributes(project, chain, t, method)
                    if any(cs.attribute_name(a) == "NonAction" for a in attrs):
                        continue
                    handler = cs.handler_for(method, t.sf.rel)
                    if handler is None:
                        continue
                    action = key[0].removesuffix("Async") or key[0]
                    for attr in attrs:
                        if cs.attribute_name(attr) == "ActionName":
                            positional, _ = cs.attribute_args(attr)
                            action = project.string_value(positional[0], t) if positional else action
                    for selector in self._selectors(project, attrs, t):
                        paths = self._paths(selector, templates, conventional, controller, action, area)
                        for path in paths:
                            for verb in selector.methods or ["ANY"]:
                                out.append((verb, path, handler))
        return out

    @staticmethod
    def _is_controller(project: cs.CsProject, ct: cs.CsType) -> bool:
        if ct.node.type != "class_declaration":
            return False
        mods = cs.modifiers(ct.node)
        if "public" not in mods or mods & {"abstract", "static"}:
            return False
        if any(c.type == "type_parameter_list" for c in ct.node.children):
            return False
        chain_attrs = {cs.attribute_name(a) for t in project.chain(ct) for a in cs.attributes(t.node)}
        if "NonController" in chain_attrs:
            return False
        return (
            ct.name.endswith("Controller")
            or "Controller" in chain_attrs
            or bool(project.base_names(ct) & {"Controller", "ControllerBase"})
        )

    @staticmethod
    def _action_attributes(project: cs.CsProject, chain: list[cs.CsType], owner: cs.CsType, method: Node) -> list[Node]:
        """The action's attributes; an override without routing attributes inherits its base's."""
        attrs = cs.attributes(method)
        routing = {"Route", "AcceptVerbs", *_HTTP_ATTRIBUTES}
        if "override" not in cs.modifiers(method) or any(cs.attribute_name(a) in routing for a in attrs):
            return attrs
        name = ts.text(method.child_by_field_name("name"))
        for t in chain[chain.index(owner) + 1 :]:
            for base in t.members("method_declaration"):
                if ts.text(base.child_by_field_name("name")) == name:
                    return attrs + cs.attributes(base)
        return attrs

    @staticmethod
    def _selectors(project: cs.CsProject, attrs: list[Node], scope: cs.CsType) -> list[_Selector]:
        """ASP.NET's selectors: [HttpX] without a template joins every [Route]; with one it stands alone."""
        silent: list[str] = []
        selectors: list[_Selector] = []
        routes: list[str] = []
        for attr in attrs:
            name = cs.attribute_name(attr)
            positional, named = cs.attribute_args(attr)
            if name in _HTTP_ATTRIBUTES:
                node = positional[0] if positional else named.get("template")
                template = project.string_value(node, scope) if node is not None else None
                if node is not None and template is None:
                    log.warning("%s: cannot read the route template %s statically", scope.sf.rel, ts.text(node))
                    continue
                if template is None and "Name" not in named and "Order" not in named:
                    silent.append(_HTTP_ATTRIBUTES[name])
                else:
                    selectors.append(_Selector(template, [_HTTP_ATTRIBUTES[name]]))
            elif name == "AcceptVerbs":
                verbs = [v.upper() for v in (project.string_value(p, scope) for p in positional) if v]
                route = project.string_value(named.get("Route"), scope)
                if route is not None:
                    selectors.append(_Selector(route, verbs))
                else:
                    silent.extend(verbs)
            elif name == "Route":
                node = positional[0] if positional else named.get("template")
                template = project.string_value(node, scope)
                if template is not None:
                    routes.append(template)
        selectors.extend(_Selector(route, list(silent)) for route in routes)
        if silent and not routes:
            selectors.append(_Selector(None, silent))
        if not selectors:
            selectors.append(_Selector(None, []))
        return selectors

    @staticmethod
    def _paths(
        selector: _Selector,
        class_templates: list[str],
        conventional: list[tuple[str, str | None]],
        controller: str,
        action: str,
        area: str | None,
    ) -> list[str]:
        template = selector.template
        if template is not None and template.startswith(("/", "~/")):
            raw = [template]
        elif class_templates:
            raw = [route_join(c, template) for c in class_templates]
        elif template is not None:
            raw = [template]
        else:
            # Not attribute routed: reachable through conventional routes only.
            raw = []
            for pattern, fixed_area in conventional:
                has_area = "{area" in pattern or fixed_area is not None
                if has_area != (area is not None) or (fixed_area is not None and fixed_area != area):
                    continue
                path = re.sub(r"\{controller(=[^}]*)?\}", controller, pattern)
                path = re.sub(r"\{action(=[^}]*)?\}", action, path)
                raw.append(re.sub(r"\{area(:[^}=]*)?(=[^}]*)?\}", area or "", path))
        out: list[str] = []
        for path in raw:
            path = path.replace("[controller]", controller).replace("[action]", action)
            path = _finish(path.replace("[area]", area or ""))
            if path not in out:
                out.append(path)
        return out

    # ------------------------------------------------------------------ minimal APIs

    def _minimal_routes(self, analysis: _Analysis) -> list[tuple[str, str, Handler]]:
        out: list[tuple[str, str, Handler]] = []
        for name in sorted({*_MAP_VERBS, "Map", "MapMethods"}):
            for sf, call in analysis.calls(name):
                fn = call.child_by_field_name("function")
                if fn is None or fn.type != "member_access_expression":
                    continue
                positional, named = _arguments(call)
                pattern = analysis.string(sf, positional[0] if positional else named.get("pattern"))
                if name == "MapMethods":
                    methods = _methods_of(positional[1] if len(positional) > 1 else named.get("httpMethods"))
                    target = positional[2] if len(positional) > 2 else named.get("handler")
                else:
                    methods = [_MAP_VERBS[name]] if name in _MAP_VERBS else []
                    target = positional[1] if len(positional) > 1 else named.get("handler")
                if pattern is None or target is None or (name == "Map" and _is_branch(target)):
                    continue
                prefixes = analysis.value(sf, fn.child_by_field_name("expression"))
                if prefixes is None:
                    log.info("%s: %s on a receiver that is not a route builder of the app", sf.rel, name)
                    continue
                resolved = analysis.handler(sf, target)
                handler = cs.handler_for(resolved[1], resolved[0].rel) if resolved is not None else None
                if handler is None:
                    log.warning("%s: handler of %s %s is not a function found statically", sf.rel, name, pattern)
                    continue
                for prefix in prefixes:
                    for verb in methods or ["ANY"]:
                        out.append((verb, group_join(prefix, pattern), handler))
        return out

    # ------------------------------------------------------------------ runtime

    def runtime_hints(self, repo_root: Path, service: ServiceCandidate) -> RuntimeHints:
        """`dotnet <Assembly>.dll`, run in the output folder of `dotnet publish -c Release -o <folder>`."""
        repo_root = repo_root.resolve()
        root = service.root.resolve()
        csproj = next(iter(sorted(root.glob("*.csproj"))), None)
        info = cs.read_csproj(csproj, csproj.read_bytes()) if csproj is not None else None
        assembly = info.assembly_name if info is not None else root.name
        sources = self._sources(repo_root, root)
        settings: dict[str, str] = {}
        for name in ("appsettings.json", "appsettings.Production.json"):
            cs.flatten_settings(cs.read_json_with_comments(root / name) or {}, "", settings)
        port = (
            self._code_port(sources.matching(lambda b: b"://" in b))
            or self._settings_port(settings)
            or self._launch_port(root)
            or DEFAULT_PORT
        )
        env = {"ASPNETCORE_URLS": f"http://0.0.0.0:{port}"}
        env.update(cs.required_env(sources.matching(lambda b: b"Environment" in b or b"onfig" in b), settings))
        return RuntimeHints(start_command=["dotnet", f"{assembly}.dll"], port=port, env=env)

    @staticmethod
    def _port_in(url: str) -> int | None:
        match = re.search(r"^http://[^/;]*:(\d+)", url.strip())
        return int(match.group(1)) if match and 0 < int(match.group(1)) < 65536 else None

    def _code_port(self, files: list[ts.SourceFile]) -> int | None:
        """A URL the code binds itself: app.Run(url), UseUrls(url), app.Urls.Add(url)."""
        for sf in files:
            for call in cs.invocations(sf.root):
                name = _call_name(call)
                fn = ts.text(call.child_by_field_name("function"))
                if name in ("Run", "RunAsync", "UseUrls") or fn.endswith("Urls.Add"):
                    positional, _ = _arguments(call)
                    for arg in positional:
                        value = cs.literal_value(arg) if arg.type.endswith("string_literal") else None
                        for url in (value or "").split(";"):
                            if (port := self._port_in(url.replace("*", "x").replace("+", "x"))) is not None:
                                return port
        return None

    def _settings_port(self, settings: dict[str, str]) -> int | None:
        urls = [settings.get("Urls", "")]
        urls += [v for k, v in sorted(settings.items()) if k.startswith("Kestrel:Endpoints:") and k.endswith(":Url")]
        for value in urls:
            for url in value.split(";"):
                if (port := self._port_in(url.replace("*", "x").replace("+", "x"))) is not None:
                    return port
        return None

    def _launch_port(self, root: Path) -> int | None:
        data = cs.read_json_with_comments(root / "Properties" / "launchSettings.json")
        profiles = data.get("profiles") if isinstance(data, dict) else None
        if not isinstance(profiles, dict):
            return None
        ordered = sorted(
            profiles.values(), key=lambda p: not (isinstance(p, dict) and p.get("commandName") == "Project")
        )
        for profile in ordered:
            if not isinstance(profile, dict):
                continue
            for url in str(profile.get("applicationUrl", "")).split(";"):
                if (port := self._port_in(url)) is not None:
                    return port
        return None

    # ------------------------------------------------------------------ mask

    def mask_body(self, source: bytes, handler: Handler) -> bytes:
        return self._answer(source, handler, None)

    def stand_in_body(self, source: bytes, handler: Handler, answer: CannedAnswer) -> bytes:
        return self._answer(source, handler, answer)

    def _answer(self, source: bytes, handler: Handler, answer: CannedAnswer | None) -> bytes:
        """The handler's body answering 501, or the canned `answer` (a stand-in)."""
        tree = ts.parse(source, cs.LANGUAGE)
        fn, body = cs.body_function(tree.root_node, handler)
        value = self._result_value(fn, answer)
        if body.type == "block":
            anchor = (
                body.start_byte if fn.type in ("lambda_expression", "anonymous_method_expression") else fn.start_byte
            )
            indent = ts.line_indent(source, anchor)
            step = b"\t" if indent.startswith(b"\t") else b"    "
            statement = f"return {value};" if value is not None else f"{THROW};"
            new = b"{\n" + indent + step + statement.encode() + b"\n" + indent + b"}"
        else:
            new = (value if value is not None else THROW).encode()
        out = ts.replace(source, body.start_byte, body.end_byte, new)
        return ts.check_reparses(out, cs.LANGUAGE, f"{handler.file}:{handler.name}")

    @staticmethod
    def _result_value(fn: Node, answer: CannedAnswer | None = None) -> str | None:
        """A 501 result (or one answering `answer`) the function can return, or None when
        only a throw type-checks (a stand-in then keeps the mask's throw)."""
        mods = cs.modifiers(fn)
        if fn.type in ("lambda_expression", "anonymous_method_expression"):
            declared = fn.child_by_field_name("type")
            if declared is None:
                return _minimal(answer)  # the delegate type is inferred from the new body
            returns = ts.text(declared)
        else:
            returns = ts.text(fn.child_by_field_name("returns") or fn.child_by_field_name("type"))
        if any("out" in {ts.text(c) for c in p.children if c.type == "modifier"} for p in cs.parameters(fn)):
            return None  # out parameters must be assigned before returning
        returns = re.sub(r"\s+", "", returns).rstrip("?")
        task = _TASK.match(returns)
        inner = task.group(2) if task else returns
        if _MVC_RESULTS.match(inner):
            owner = next((a for a in ts.ancestors(fn) if a.type == "class_declaration"), None)
            has_base = owner is not None and any(c.type == "base_list" for c in owner.children)
            value = "StatusCode(501)" if has_base else "new Microsoft.AspNetCore.Mvc.StatusCodeResult(501)"
            if answer is not None:
                value = _mvc(answer)
        elif _HTTP_RESULT.match(inner):
            value = _minimal(answer)
        else:
            return None
        if task and "async" not in mods:
            if task.group(1) == "Task":
                return f"System.Threading.Tasks.Task.FromResult<{inner}>({value})"
            return f"new System.Threading.Tasks.ValueTask<{inner}>({value})"
        return value
