"""The JSON request body a Ruby handler reads, field by field, from the handler's code.

Sinatra parses the body itself (`data = JSON.parse(request.body.read)`, or through a helper
of the app such as `json_body`), then reads `data["title"]`, `data[:title]` or
`data.fetch("title", ...)`; Sinatra and Rails also read `params["title"]` / `params[:title]`
(Rails wraps a JSON body into its params), and Rails' strong parameters name the fields:
`params.require(:note).permit(:title, :body)`. The route's own captures (`:id`) and Rails'
routing keys are not body fields. A field's type comes from its conversion (`.to_i`,
`Array(...)`); it is required when the handler refuses it empty (`title.empty?`,
`.nil?`, `.blank?`) or reads it with a `fetch` that has no default. Test generation sends
these fields, so a create makes something the tests follow instead of only recording a 4xx.
"""

from __future__ import annotations

import re

from pipeline.models import BodyField

#: The methods whose requests test generation sends a body with.
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})

#: `data = ...` where `...` parses the body, or calls a helper named for it.
_WHOLE_BODY = re.compile(
    r"^\s*(\w+)\s*=\s*(?:JSON\.parse\([^\n]*request\.body|(?:\w*json\w*|\w*body\w*|payload|\w*params\w*)\s*$)",
    re.M,
)
#: a hash key: "title", 'title' or :title
_KEY = r"""(?:["'](?P<key>\w+)["']|:(?P<sym>\w+))"""
_CALL_KEY = r"""(?:["'](?P<ckey>\w+)["']|:(?P<csym>\w+))"""
_PERMIT = re.compile(r"\.permit\(([^)]*)\)")
_ROUTING_KEYS = {"id", "controller", "action", "format", "splat", "captures"}
_CONVERSIONS = {"to_i": "int", "to_f": "float", "to_s": "str", "to_a": "list", "to_h": "dict"}


def json_body_fields(handler_text: str, path: str) -> list[BodyField]:
    """The fields the handler (a block or method) reads from a JSON body, in order."""
    captures = set(re.findall(r"[:*](\w+)", path)) | set(re.findall(r"\{(\w+)\}", path)) | _ROUTING_KEYS
    fields: dict[str, BodyField] = {}
    readers = ["params", *(m.group(1) for m in _WHOLE_BODY.finditer(handler_text))]
    for reader in dict.fromkeys(readers):
        pattern = (
            rf"\b{re.escape(reader)}(?:\[\s*{_KEY}\s*\]|\.(?P<call>fetch|dig)\(\s*{_CALL_KEY}"
            r"(?P<default>\s*,)?)"
        )
        for match in re.finditer(pattern, handler_text):
            name = match.group("key") or match.group("sym") or match.group("ckey") or match.group("csym")
            if name in captures:
                continue
            no_default = match.group("call") == "fetch" and match.group("default") is None
            fields.setdefault(name, _field(handler_text, name, match.start(), match.end(), no_default))
    for permit in _PERMIT.finditer(handler_text):
        for name in re.findall(r":(\w+)", permit.group(1)):
            if name not in captures:
                fields.setdefault(name, BodyField(name=name, type="str", required=False))
    return list(fields.values())


def _field(text: str, name: str, start: int, end: int, no_default: bool) -> BodyField:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : line_end if line_end != -1 else len(text)]
    after = text[end : line_end if line_end != -1 else len(text)]
    conversion = re.match(r"\)?\.(to_i|to_f|to_s|to_a|to_h)\b", after)
    kind = _CONVERSIONS[conversion.group(1)] if conversion else "str"
    if re.search(r"\bArray\(\s*$", text[line_start:start]):
        kind = "list"
    # `data["text"].nil?`, `data["title"].to_s.strip.empty?`: refused empty where it is read.
    required = no_default or re.match(r"(?:\.\w+)*\.(?:empty|nil|blank)\?", after) is not None
    assigned = re.match(r"\s*(\w+)\s*=(?!=)", line)
    if assigned is not None:
        var = re.escape(assigned.group(1))
        required = required or re.search(rf"\b{var}\.(?:empty|nil|blank)\?", text) is not None
    return BodyField(name=name, type=kind, required=required)
