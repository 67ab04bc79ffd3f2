"""test generation: characterization tests from what the original service really answers.

For one API group we plan scenarios (a create-then-read lifecycle where the group has one,
single requests otherwise), replay them against the running original twice in a row, and
keep only what both replays agree on. The second replay runs on the state the first one
left, so anything that depends on state or time (ids, counters, timestamps, list contents)
differs and is not asserted; an id that the create answered is followed as a variable.

The tests are ordered as pytest will run them against a fresh container: the connect
probes first (test_connect.py sorts before test_func.py), then the scenarios.

A group whose endpoints refuse a request without credentials (401/403) is recorded signed
in when the service's own routes say how to get in (stages/sign_in.py): each replay signs
in as a new user, every scenario request carries that user's credential, and one more
scenario asserts the refusals without it. The shipped test_func signs in the same way at
test time (stages/sign_in_client.py), so the masked group fails where it answers 501 to
a user who got in, not merely where it refuses one who did not.
"""

from __future__ import annotations

import hashlib
import json
import keyword
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from pprint import pformat
from typing import Any
from urllib.parse import quote, urlencode, urljoin, urlsplit

import requests

from pipeline.models import (
    ApiGroup,
    BodyField,
    Endpoint,
    Probe,
    Scenario,
    StageError,
    TestSuite,
    Verdict,
    path_params,
)
from pipeline.stages import collection_client, redact, shipped_code, sign_in, sign_in_client, upload_client
from pipeline.templates import render

STAGE_VERSION = "24"  # 24: a group that refuses every request and cannot be signed into is nothing_testable
REQUEST_TIMEOUT = 10
MAX_REDIRECTS = 5
_ID_FIELDS = ("id", "_id", "uuid", "pk", "key")


class _Drop:
    """Marks a value that changed between the two replays: not asserted."""


DROP = _Drop()


@dataclass(frozen=True)
class Captured:
    """A value equal to the id a create answered: asserted as that variable."""

    var: str


@dataclass(frozen=True)
class AtService:
    """A URL the service built from where it was reached (its Host header): the tests' own
    base URL followed by `rest`, since the harness reaches it elsewhere."""

    rest: str


@dataclass(frozen=True)
class TypeOnly:
    """A value whose content changed but whose JSON type did not."""

    type_name: str


@dataclass
class PlannedStep:
    endpoint: Endpoint
    body: dict | None = None
    captures: str | None = None  # the path parameter this step's answer provides
    signed_in: bool | None = None  # None: no sign-in in play; False: deliberately without one
    query: dict[str, str] | None = None  # the query string sent; None: the required ones' create values
    # A collection read that finds the item a create sent (these values), for a create that
    # answered no id; skipped when it did.
    finds: dict | None = None
    # Path parameter values sent as they are (not followed from a create); others are 1.
    path_values: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.query is None:
            self.query = sample_query(self.endpoint)


@dataclass
class PlannedScenario:
    name: str
    steps: list[PlannedStep] = field(default_factory=list)
    # A lifecycle's item requests sent to the items the service already holds (ids 1 and 2),
    # replayed when its create is refused: a service whose own data holds items (a seed
    # dump) still has them tested when the create's sample values are not valid for it.
    on_held_items: PlannedScenario | None = None


# Text fields whose name says what a server will validate them as.
_URL_NAME = re.compile(r"(?:^|_)(?:url|uri|link|href|website|homepage|site)$", re.IGNORECASE)
_EMAIL_NAME = re.compile(r"(?:^|_)e?mail(?:_?address)?$", re.IGNORECASE)


def _sample(body_field: BodyField, variant: str) -> Any:
    updated = variant == "update"
    word = "updated" if updated else "sample"
    if body_field.type in ("file", "files"):
        return upload_client.sample(body_field.type, updated=updated)  # sent as multipart/form-data
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", body_field.name)
    if body_field.type in ("str", "any") and _URL_NAME.search(snake):
        return f"https://example.com/{word}-{body_field.name.lower()}"
    if body_field.type in ("str", "any") and _EMAIL_NAME.search(snake):
        return f"{word}.{body_field.name.lower()}@example.com"
    return {
        "int": 2 if updated else 1,
        "float": 2.5 if updated else 1.5,
        "bool": not updated,
        "list": [],
        "dict": {},
    }.get(body_field.type, f"{word} {body_field.name}")


# Query parameters that hold a number whatever their type says (`?page=` read as a string
# and parsed later): a word there answers an error the masked handler may answer too.
_NUMBER_NAME = re.compile(
    r"^(?:page|pages|page_?(?:no|num|number|index|size)|per_?page|limit|size|offset|skip|take|top|count|n|num"
    r"|current|year|month|day|days|max|min|amount|quantity|qty)$|(?:^|_)id$",
    re.IGNORECASE,
)


def sample_query(endpoint: Endpoint, variant: str = "create") -> dict[str, str]:
    """The query string parameters a request sends: the ones the handler cannot do
    without (an optional one would only narrow what a read answers). A write that takes
    no JSON body gets them all: they are its input (a form's fields as Spring binds them)."""
    out: dict[str, str] = {}
    takes_all = endpoint.method in ("POST", "PUT", "PATCH") and not endpoint.body_fields
    for query_field in endpoint.query_fields:
        if not (query_field.required or takes_all) or query_field.type in ("dict", "file", "files"):
            continue
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", query_field.name)
        kind = "int" if query_field.type in ("any", "str") and _NUMBER_NAME.search(snake) else query_field.type
        value = _sample(query_field.model_copy(update={"type": kind}), variant)
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, list):
            value = "sample" if variant != "update" else "updated"
        out[query_field.name] = str(value)
    return out


# Optional query parameters that shape an answer rather than filter it (paging, order, a
# format, a language) or hold an enum: a value of no item there is an error, not a filter.
_NOT_A_FILTER = re.compile(
    r"sort|order|direction|dir|asc|desc|page|size|limit|offset|cursor|skip|take|format|fields|expand|include|"
    r"embed|lang|locale|callback|token|key|type|kind|mode|status|version|v",
    re.IGNORECASE,
)


def no_match_filters(endpoint: Endpoint) -> dict[str, str]:
    """For a read with optional text filters (a search: `name`, `tag`, `q`), each set to a
    value no item has: its answer is then an empty result, which a handler that ignores
    its filters does not give. {} when it has none."""
    out = {}
    for query_field in endpoint.query_fields:
        snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", query_field.name)
        if query_field.required or query_field.type not in ("str", "any") or _NUMBER_NAME.search(snake):
            continue
        if any(_NOT_A_FILTER.fullmatch(part) for part in re.split(r"[_\-.]", snake.lower()) if part):
            continue
        out[query_field.name] = f"no-match-{query_field.name}"
    return out


def query_string(query: dict[str, str] | None) -> str:
    return "?" + urlencode(query) if query else ""


# Fields the server keeps itself: the new item's id, a soft-delete flag, a row version, its
# audit columns. A create that sends them makes an item of that id twice (the second replay
# fails on the key) or one already deleted (`isDelete: 1` under MyBatis-Plus's @TableLogic),
# which no read then shows.
_SERVER_KEPT = re.compile(
    r"^(?:id|_id|is_?del(?:ete)?d?|deleted|del_?flag|delete_?flag|version|"
    r"(?:create|update|modifie|delete)d?_?(?:at|time|date|by|on))$",
    re.IGNORECASE,
)
# A POST to such a path changes an item that exists: its id is what names it.
_CHANGES_AN_ITEM = re.compile(r"(?:^|[/_-])(?:update|edit|modify|change|delete|remove|review)[\w-]*$", re.IGNORECASE)


def sample_body(endpoint: Endpoint, variant: str = "create") -> dict | None:
    if endpoint.method not in ("POST", "PUT", "PATCH"):
        return None
    creates = endpoint.method == "POST" and not _CHANGES_AN_ITEM.search(endpoint.normalized_path.rstrip("/"))
    return {
        f.name: _sample(f, variant)
        for f in endpoint.body_fields
        if not (creates and not f.required and _SERVER_KEPT.match(re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", f.name)))
    }


def _var(name: str) -> str:
    var = re.sub(r"\W+", "_", name).strip("_") or "item_id"
    if var[0].isdigit() or keyword.iskeyword(var) or var in ("r", "base_url", "requests"):
        var = f"p_{var}"
    return var


def plan(group: ApiGroup, refused: list[Endpoint] | None = None) -> list[PlannedScenario]:
    """The scenarios to replay; with `refused` (the endpoints that refused a request without
    credentials, when a sign-in was found) every request is sent signed in, and one more
    scenario sends each refused endpoint a request without credentials."""
    scenarios = _plan(group)
    if not refused:
        return scenarios
    for scenario in scenarios:
        held = scenario.on_held_items.steps if scenario.on_held_items else []
        for step in [*scenario.steps, *held]:
            step.signed_in = True
    refusals = [
        PlannedStep(e, sample_body(e), signed_in=False)
        for e in sorted(refused, key=lambda e: (e.normalized_path, e.method))
    ]
    scenarios.append(PlannedScenario(f"{_slug(group.name)}_refuses_requests_without_sign_in", refusals))
    return scenarios


# A create named by its verb (`POST /blog/insert`, `/user/add`, `/saveNote`) and the item
# requests beside it (`GET /blog/getBlogById/{id}`, `POST /blog/delete/{id}`): the RPC style
# of many APIs, whose creates do not post to the collection their items sit under, and
# whose updates and deletes are often POSTs named by their word.
_CREATE_VERB = re.compile(r"(?:[Aa]dd|[Cc]reate|[Ii]nsert|[Ss]ave|[Nn]ew)(?:[A-Z_\-]\w*)?")
_READ_WORD = re.compile(r"get|detail|info|find|query|view|show|one|read|edit", re.IGNORECASE)
_UPDATE_WORD = re.compile(r"update|edit|modify", re.IGNORECASE)
_DELETE_WORD = re.compile(r"delete|remove|del", re.IGNORECASE)
#: (the request's method, the lifecycle step it takes, the word that says so), first wins
_ITEM_WORDS = (
    ("GET", "GET", _READ_WORD),
    ("PUT", "PUT", _UPDATE_WORD),
    ("PATCH", "PATCH", _UPDATE_WORD),
    ("DELETE", "DELETE", _DELETE_WORD),
    ("POST", "DELETE", _DELETE_WORD),
    ("POST", "PUT", _UPDATE_WORD),
)
_ITEM = r"/\{[^/{}]+\}"


def _items_of(create: Endpoint, endpoints: list[Endpoint]) -> tuple[str, dict[str, Endpoint]]:
    """(the path the scenario is named for, lifecycle step -> the request on one created
    item: GET, PUT, PATCH, DELETE)."""
    base = create.normalized_path.rstrip("/")
    items = [e for e in endpoints if re.fullmatch(re.escape(base) + _ITEM, e.normalized_path)]
    if items:
        return base, {e.method: e for e in items}
    parent, _, last = base.rpartition("/")
    if not _CREATE_VERB.fullmatch(last):
        return base, {}
    by_step: dict[str, Endpoint] = {}
    for method, step, word in _ITEM_WORDS:
        for endpoint in endpoints:
            # `/{id}` itself, or one word that says what the request does to the item
            found = re.fullmatch(re.escape(parent) + r"(?:/([^/{}]+))?" + _ITEM, endpoint.normalized_path)
            if endpoint.method != method or step in by_step or found is None:
                continue
            if (found.group(1) is None and method == step) or (found.group(1) and word.search(found.group(1))):
                by_step[step] = endpoint
    return parent or base, by_step if "GET" in by_step else {}


def _plan(group: ApiGroup) -> list[PlannedScenario]:
    endpoints = sorted(group.endpoints, key=lambda e: (e.normalized_path, e.method))
    used: set[str] = set()
    scenarios: list[PlannedScenario] = []
    for create in (e for e in endpoints if e.method == "POST" and not path_params(e.path)):
        base, by_method = _items_of(create, endpoints)
        if not by_method:
            continue
        param = path_params(next(iter(by_method.values())).path)[-1]
        collection = next(
            (e for e in endpoints if e.method == "GET" and e.normalized_path == create.normalized_path), None
        )
        steps = [PlannedStep(create, sample_body(create), captures=param), *_finder(collection, create, param)]
        if "GET" in by_method:
            steps.append(PlannedStep(by_method["GET"]))
        for method in ("PUT", "PATCH"):
            if method in by_method:
                update = by_method[method]
                steps.append(PlannedStep(update, sample_body(update, "update"), query=sample_query(update, "update")))
                if "GET" in by_method:
                    steps.append(PlannedStep(by_method["GET"]))
        if "DELETE" in by_method:
            steps.append(PlannedStep(by_method["DELETE"]))
            if "GET" in by_method:
                steps.append(PlannedStep(by_method["GET"]))
        varies = create.body_fields or sample_query(create)
        if not by_method.keys() & {"PUT", "PATCH", "DELETE"} and varies and "GET" in by_method:
            # Only a create and a read: a second item with other values, read back, so a
            # canned copy of the first answer (the fixed_body stand-in) no longer passes.
            steps.append(
                PlannedStep(create, sample_body(create, "update"), captures=param, query=sample_query(create, "update"))
            )
            steps.extend(_finder(collection, create, param, "update"))
            steps.append(PlannedStep(by_method["GET"]))
        if collection:
            steps.append(PlannedStep(collection))
        used.update(s.endpoint.key for s in steps)
        held = _held_item_steps(by_method, param)
        scenarios.append(
            PlannedScenario(
                f"{_slug(base)}_lifecycle", steps, on_held_items=PlannedScenario(f"{_slug(base)}_held_items", held)
            )
        )
        if any(f.required for f in create.body_fields):
            scenarios.append(PlannedScenario(f"{_slug(base)}_create_rejects_empty_body", [PlannedStep(create, {})]))
    for endpoint in endpoints:
        if endpoint.key not in used:
            name = f"{endpoint.method.lower()}_{_slug(endpoint.normalized_path)}"
            steps = [PlannedStep(endpoint, sample_body(endpoint))]
            # A second request with other values: an answer that depends on the request
            # then differs, which one canned answer cannot match (the strength gate's
            # fixed_body stand-in).
            if endpoint.body_fields or sample_query(endpoint):
                steps.append(
                    PlannedStep(endpoint, sample_body(endpoint, "update"), query=sample_query(endpoint, "update"))
                )
            elif endpoint.method == "GET" and (filters := no_match_filters(endpoint)):
                # A search: its filters set to values no item has. Its plain answer is
                # whatever earlier requests left; this one is asserted whole (empty).
                steps.append(PlannedStep(endpoint, query={**sample_query(endpoint), **filters}))
            elif endpoint.method == "GET" and path_params(endpoint.path):
                # A read of one item by its id: a second item (or its absence) too, so a
                # handler that answers the same for every id does not pass.
                steps.append(PlannedStep(endpoint, path_values=dict.fromkeys(path_params(endpoint.path), 2)))
            scenarios.append(PlannedScenario(name, steps))
    return scenarios


def _finder(collection: Endpoint | None, create: Endpoint, param: str, variant: str = "create") -> list[PlannedStep]:
    """The collection read that finds what `create` made, when its answer names no id (a
    201 with an empty body): the item whose fields have the values it sent."""
    body = sample_body(create, variant)
    if collection is None or not body:
        return []
    return [PlannedStep(collection, captures=param, finds=body)]


def created_item(payload: Any, sent: dict) -> tuple[dict, dict] | None:
    """The last item of a collection answer whose fields equal what a create sent, with the
    fields that matched; None when no item has any of them. The tests' own `created_item`
    (stages/collection_client.py) then looks for those fields."""
    items = collection_client.collection_items(payload)
    if not isinstance(items, list):
        return None
    # An id sent in the body is not what the server keeps when it assigns its own.
    scalars = {
        k: v
        for k, v in sent.items()
        if isinstance(v, (str, int, float, bool)) and k.lower() not in _ID_FIELDS and not k.lower().endswith("id")
    }
    for item in reversed(items):
        if not isinstance(item, dict):
            continue
        shared = {k: v for k, v in scalars.items() if k in item}
        if shared and all(item[k] == v for k, v in shared.items()):
            return item, shared
    return None


def _slug(path: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", path.lower()).strip("_") or "root"


def _concrete(endpoint: Endpoint, captured: dict[str, Any]) -> str:
    path = endpoint.request_path
    for name in path_params(endpoint.path):
        path = path.replace("{" + name + "}", str(captured.get(name, 1)))
    return path


@dataclass
class Answer:
    """What a test can assert about one request's answer."""

    status: int
    payload: Any = None  # the JSON body, None when not JSON
    sha256: str | None = None  # of a successful body that is not JSON (a file, a page)
    location: str | None = None  # of a redirect off the service, the base URL written {base_url}
    text: str | None = None  # that body itself when it is a short line of text (quoted to the solver)

    def words(self) -> str:
        """The body as text, for words a reader would see in it (a refusal, an error)."""
        if self.payload is not None:
            return json.dumps(self.payload, ensure_ascii=False)
        return self.text or ""


class EndlessAnswer(Exception):
    """The service answered a status and headers but its body did not end in time: a
    stream (server-sent events, a log tail) has no whole answer to record."""

    def __init__(self, started: str) -> None:
        super().__init__(started)
        self.started = started  # `200 (text/event-stream)`


def request_within(
    method: str, url: str, body: dict | None, headers: dict[str, str] | None = None
) -> requests.Response:
    """A request that follows redirects only while they stay on the service, its body read
    whole within REQUEST_TIMEOUT (EndlessAnswer when it is not).

    A redirect elsewhere (a sign-in provider, an external site) is the answer itself: it
    is asserted by its status and Location, and following it would make the test depend on
    the outside world. The generated tests do the same (templates/tests/conftest.py.j2).
    """
    origin = urlsplit(url)[:2]
    response = _request(method, url, body, headers)
    for _ in range(MAX_REDIRECTS):
        location = response.headers.get("Location")
        if not response.is_redirect or not location:
            break
        target = urljoin(response.url, location)
        if urlsplit(target)[:2] != origin:
            break
        # 307/308 repeat the request; the others turn it into a GET without a body.
        keep = response.status_code in (307, 308)
        response.close()
        response = _request(method if keep else "GET", target, body if keep else None, headers)
    _read_whole(response)
    return response


def _request(method: str, url: str, body: dict | None, headers: dict[str, str] | None) -> requests.Response:
    # A body with a file in it goes as multipart/form-data (stages/upload_client.py).
    # stream=True: _read_whole reads the body and bounds it in time (requests' own timeout
    # bounds each read only, and a stream that sends a line a second never ends).
    return requests.request(
        method,
        url,
        **upload_client.body_kwargs(body),
        headers=headers,
        timeout=REQUEST_TIMEOUT,
        allow_redirects=False,
        stream=True,
    )


def _read_whole(response: requests.Response) -> None:
    """Read the body into `response.content`, all of it within REQUEST_TIMEOUT."""
    deadline = time.monotonic() + REQUEST_TIMEOUT
    kind = response.headers.get("Content-Type", "no content type").split(";")[0]
    started = f"{response.status_code} ({kind})"
    chunks = []
    try:
        for chunk in response.iter_content(64 * 1024):
            chunks.append(chunk)
            if time.monotonic() > deadline:
                raise EndlessAnswer(started)
    except (requests.ConnectionError, requests.Timeout) as exc:
        # A body that stops coming (a silent stream) times out between two reads: requests
        # raises that, and only that, as a ConnectionError while reading a body. A body cut
        # short (a crash) is a ChunkedEncodingError, which stays a failed connection.
        raise EndlessAnswer(started) from exc
    finally:
        response.close()
    # What requests' own (non-streamed) read leaves: `.content`, `.json()` and `.text` read it.
    response._content = b"".join(chunks)


def relative_location(location: str | None, base_url: str) -> str | None:
    """A Location with the service's own address (also URL-encoded) written `{base_url}`."""
    if location is None:
        return None
    return location.replace(base_url, "{base_url}").replace(quote(base_url, safe=""), "{base_url_quoted}")


def _send(base_url: str, method: str, path: str, body: dict | None, headers: dict[str, str] | None = None) -> Answer:
    verb = "GET" if method == "ANY" else method
    try:
        response = request_within(verb, base_url + path, body, headers)
    except EndlessAnswer as exc:
        raise StageError(
            Verdict.nothing_testable,
            f"{verb} {path} answers {exc.started} and never ends (a stream): no whole answer to record",
            stage="testgen",
        ) from exc
    except requests.RequestException as exc:
        raise StageError(Verdict.connect_failed, f"{verb} {path}: {exc}", stage="testgen") from exc
    try:
        payload = response.json()
    except ValueError:
        payload = None
    answer = Answer(status=response.status_code, payload=payload)
    # A page that names where it was reached (absolute links) differs under the harness.
    names_host = urlsplit(base_url).netloc.encode() in response.content
    if payload is None and 200 <= response.status_code < 300 and response.content and not names_host:
        answer.sha256 = hashlib.sha256(response.content).hexdigest()
        answer.text = short_text(response.content)
    if response.is_redirect:
        answer.location = relative_location(response.headers.get("Location"), base_url)
    return answer


SHORT_TEXT = 200


def short_text(content: bytes) -> str | None:
    """A body the instruction can quote whole (a greeting, a version string): printable
    UTF-8 on one line, at most SHORT_TEXT characters. A page or a file is not quoted: the
    solver is told its behaviour, and the tests compare it by its digest."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None
    line = text.removesuffix("\n")  # isprintable() is False for any other line break
    if not line.strip() or len(line) > SHORT_TEXT or not line.isprintable():
        return None
    return text


def _id_key(payload: dict, param: str) -> str | None:
    for key in (param, *_ID_FIELDS):
        if key in payload and isinstance(payload[key], (int, str)):
            return key
    return next((k for k, v in payload.items() if k.lower().endswith("id") and isinstance(v, (int, str))), None)


def capture_path(payload: Any, param: str) -> list[str] | None:
    """The keys leading to the id a create answered: its own field, or the field of the
    object the answer wraps it in (`{"code": 0, "data": {"id": 7}}`, as many APIs answer)."""
    if not isinstance(payload, dict):
        return None
    if (key := _id_key(payload, param)) is not None:
        return [key]
    for wrapper, value in payload.items():
        if isinstance(value, dict) and (key := _id_key(value, param)) is not None:
            return [wrapper, key]
    return None


def _pick_capture(payload: Any, param: str) -> Any:
    path = capture_path(payload, param)
    for key in path or []:
        payload = payload[key]
    return payload if path else None


@dataclass
class Taken:
    """A planned step as a replay took it: for a finder, the fields that found the item."""

    step: PlannedStep
    matched: dict | None = None
    item: dict | None = None


def _held_item_steps(by_method: dict[str, Endpoint], param: str) -> list[PlannedStep]:
    """Item 1 updated with the first sample values (numbers of 1: a `tenantId` or `userid`
    the data holds), then with its text changed (the numbers kept), then read; then item 2.
    Two updates that answer differently are what one canned answer cannot match."""
    updates = [by_method[m] for m in ("PUT", "PATCH") if m in by_method]
    read = by_method.get("GET")
    steps: list[PlannedStep] = []
    for item in (1, 2):
        for update in updates:
            steps.append(PlannedStep(update, sample_body(update), path_values={param: item}))
            if item == 1 and (changed := _text_changed(update)) is not None:
                steps.append(PlannedStep(update, changed, path_values={param: item}))
        if read is not None:
            steps.append(PlannedStep(read, path_values={param: item}))
    return steps


def _text_changed(endpoint: Endpoint) -> dict | None:
    """The first sample body with its text fields given their update values; None when it
    has no text field to change."""
    first, other = sample_body(endpoint), sample_body(endpoint, "update")
    if not isinstance(first, dict) or not isinstance(other, dict):
        return None
    texts = [k for k, v in first.items() if isinstance(v, str) and isinstance(other.get(k), str) and other[k] != v]
    return {**first, **{k: other[k] for k in texts}} if texts else None


def _why_not(crashed: list[str], varied: list[str]) -> str:
    """What stopped the replays, for the verdict's reason: server errors, changing statuses."""
    said = []
    if crashed:
        said.append("the original answered a server error to " + ", ".join(crashed[:3]))
    if varied:
        said.append("the status changed between two replays of " + ", ".join(varied[:3]))
    return ": " + "; ".join(said) if said else ""


def _create_refused(probes_a: list[Probe], probes_b: list[Probe]) -> bool:
    """Whether a lifecycle's create (its first step) was refused in both replays."""
    return bool(probes_a and probes_b) and probes_a[0].status >= 400 and probes_b[0].status >= 400


def _replay(
    base_url: str, scenario: PlannedScenario, credential: dict[str, str] | None = None
) -> tuple[list[Probe], list[dict[str, Any]], list[Taken]]:
    """The scenario's answers, the ids followed so far after each step (a later create of
    the same kind follows a new id: each step is judged by the ids of its own time), and
    the steps taken (a finder is skipped when its create answered the id)."""
    captured: dict[str, Any] = {}
    probes: list[Probe] = []
    history: list[dict[str, Any]] = []
    taken: list[Taken] = []
    steps = scenario.steps
    for position, step in enumerate(steps):
        if step.finds is not None and step.captures in captured:
            continue
        follows = step.signed_in is not False  # a refusal asks nothing that a create answered
        unknown = [p for p in path_params(step.endpoint.path) if p not in captured and p not in step.path_values]
        if follows and unknown and probes:
            break  # the create gave no id to follow
        path = _concrete(step.endpoint, {**captured, **step.path_values}) + query_string(step.query)
        headers = credential if step.signed_in else None
        answer = _send(base_url, step.endpoint.method, path, step.body, headers)
        status, payload = answer.status, answer.payload
        probes.append(
            Probe(
                method=step.endpoint.method,
                path_template=step.endpoint.normalized_path,
                path=path,
                body=step.body,
                status=status,
                json_body=payload,
                body_sha256=answer.sha256,
                body_text=answer.text,
                location=answer.location,
                signed_in=step.signed_in,
            )
        )
        taken.append(Taken(step))
        if step.captures:
            if step.finds is not None:
                found = created_item(payload, step.finds)
                value = _pick_capture(found[0], step.captures) if found else None
                if found:
                    taken[-1].matched, taken[-1].item = found[1], found[0]
            else:
                value = _pick_capture(payload, step.captures)
                # The create answered no id: its finder (the next step) reads the collection.
                following = steps[position + 1] if position + 1 < len(steps) else None
                if value is None and following is not None and following.finds is not None:
                    captured.pop(step.captures, None)
                    history.append(dict(captured))
                    continue
            if value is None:
                history.append(dict(captured))
                break
            captured[step.captures] = value
        history.append(dict(captured))
    return probes, history, taken


def stable_part(a: Any, b: Any, cap_a: dict[str, Any], cap_b: dict[str, Any], base_url: str = "") -> Any:
    """What two replays agree on; ids that followed the create become Captured, and URLs the
    service built from where it was reached (`base_url`) AtService."""
    for name, value in cap_a.items():
        if a == value and b == cap_b.get(name) and a != b:
            return Captured(_var(name))
    if isinstance(a, dict) and isinstance(b, dict):
        out = {}
        for key in a.keys() & b.keys():
            part = stable_part(a[key], b[key], cap_a, cap_b, base_url)
            if part is not DROP:
                out[key] = part
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return TypeOnly("list")
        parts = [stable_part(x, y, cap_a, cap_b, base_url) for x, y in zip(a, b, strict=True)]
        return TypeOnly("list") if any(p is DROP for p in parts) else parts
    if a == b and type(a) is type(b):
        if isinstance(a, str) and base_url and urlsplit(base_url).netloc in a:
            # The recording's own host and port: elsewhere under the harness.
            return AtService(a[len(base_url) :]) if a.startswith(base_url) else DROP
        # Two replays a minute apart agree on today's date; tomorrow's run would not.
        return DROP if of_the_clock(a) else a
    return DROP


# A date in a value: 20261206, 2026-12-06, 2026/12/06 (a time may follow).
_DATE = re.compile(r"(?<!\d)(\d{4})([-/.]?)(\d{2})\2(\d{2})")
_CLOCK_WINDOW = timedelta(days=2)


def of_the_clock(value: Any, now: datetime | None = None) -> bool:
    """Whether `value` is (or holds) the current date, or a Unix time near now, in seconds,
    milliseconds, microseconds or nanoseconds (a number, or a string of its digits: a
    version stamp, a cursor): what a service answers from its clock, equal in two recordings
    of one day (or of one state: the second replay reads the version the first one made) and
    different on the next."""
    now = now or datetime.now(UTC)
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit() and 9 <= len(value) <= 19:
        value = int(value)
    if isinstance(value, (int, float)):
        seconds = now.timestamp()
        window = _CLOCK_WINDOW.total_seconds()
        return any(abs(value - seconds * scale) < window * scale for scale in (1, 1_000, 1_000_000, 1_000_000_000))
    if not isinstance(value, str):
        return False
    for match in _DATE.finditer(value):
        year, _, month, day = match.groups()
        try:
            found = datetime(int(year), int(month), int(day), tzinfo=UTC)
        except ValueError:
            continue
        if abs(found - now) <= _CLOCK_WINDOW:
            return True
    return False


def shape_only(value: Any) -> Any:
    """A collection's content depends on whatever earlier requests left behind (other
    tests, other runs): assert its lists and numbers by type only."""
    if isinstance(value, dict):
        return {k: shape_only(v) for k, v in value.items()}
    if isinstance(value, list):
        return TypeOnly("list")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    return TypeOnly(type(value).__name__)


def characterize(base_url: str, group: ApiGroup, sign_in_plan: sign_in.SignInPlan | None = None) -> TestSuite:
    """Probe the running original service and write the group's two test files.

    `sign_in_plan` is what the service's routes say about signing in (stages/sign_in.py):
    used when some endpoint of the group refuses a request without credentials.
    """
    base_url = base_url.rstrip("/")
    connect_checks = []
    refused: list[Endpoint] = []
    refusal_seen = ""
    for endpoint in sorted(group.endpoints, key=lambda e: (e.normalized_path, e.method)):
        path = _concrete(endpoint, {}) + query_string(sample_query(endpoint))
        body = sample_body(endpoint)
        answer = _send(base_url, endpoint.method, path, body)
        status = answer.status
        if sign_in.is_refusal(status, answer.words()):
            refused.append(endpoint)
            refusal_seen = refusal_seen or f"{endpoint.method} {path} answered {status} {answer.words()[:120]}".rstrip()
        connect_checks.append(
            {
                "name": f"{endpoint.method.lower()}_{_slug(endpoint.normalized_path)}",
                "method": "GET" if endpoint.method == "ANY" else endpoint.method,
                "path": path,
                "body": repr(body) if body is not None else None,
                # A route that crashes the original too can only be checked for an answer.
                "strict": status < 500,
            }
        )

    recipe = _sign_in_recipe(base_url, sign_in_plan, refused)
    if recipe is None and refused and len(refused) == len(group.endpoints):
        # Tests could assert only the refusal, which a filter in front of the handlers
        # gives the masked code too: nothing of the group's own code would be tested.
        how = (
            "no credential from its sign-in routes got in"
            if sign_in_plan is not None and sign_in_plan.usable
            else "its routes show no way for a new user to sign in"
        )
        raise StageError(
            Verdict.nothing_testable,
            f"every endpoint of group {group.name} refuses a request without sign-in ({refusal_seen}), and {how}",
            stage="testgen",
        )
    planned = plan(group, refused if recipe else None)
    # One new user per replay: the second replay's registration does not collide with the
    # first's, and what differs between the two users (names, ids) is not asserted.
    user_a = _credential(base_url, recipe)
    first = [_replay(base_url, s, user_a) for s in planned]
    user_b = _credential(base_url, recipe)
    second = [_replay(base_url, s, user_b) for s in planned]
    for spec, (probes_a, _, _), (probes_b, _, _) in list(zip(planned, first, second, strict=True)):
        if spec.on_held_items is not None and _create_refused(probes_a, probes_b):
            planned.append(spec.on_held_items)
            first.append(_replay(base_url, spec.on_held_items, user_a))
            second.append(_replay(base_url, spec.on_held_items, user_b))
    scenarios: list[Scenario] = []
    rendered: list[dict[str, Any]] = []
    crashed: list[str] = []  # requests the original answered with a server error
    varied: list[str] = []  # requests whose status differed between the two replays
    for spec, (probes_a, history_a, taken_a), (probes_b, history_b, taken_b) in zip(
        planned, first, second, strict=True
    ):
        steps: list[Probe] = []
        rendered_steps: list[dict[str, Any]] = []
        for index, (pa, pb) in enumerate(zip(probes_a, probes_b, strict=False)):
            cap_a, cap_b = history_a[index], history_b[index]
            if pa.status != pb.status or pa.status >= 500:
                # not deterministic, or the original crashes: stop asserting here
                if pa.status != pb.status:
                    varied.append(f"{pa.method} {pa.path} ({pa.status}, then {pb.status})")
                else:
                    crashed.append(f"{pa.method} {pa.path} ({pa.status})")
                break
            if taken_a[index].step is not taken_b[index].step or taken_a[index].matched != taken_b[index].matched:
                break  # one create answered an id and the other did not
            expected = stable_part(pa.json_body, pb.json_body, cap_a, cap_b, base_url)
            planned_step = taken_a[index].step
            # A collection read: its content is whatever earlier requests left. One that the
            # request's own query parameters decide (a search, a conversion) is asserted whole.
            if planned_step.endpoint.method == "GET" and not path_params(planned_step.endpoint.path):
                expected = expected if planned_step.query else shape_only(expected)
            pa.stable_json = _jsonable(expected)
            # A body that is not JSON (a file, a page) is asserted whole, by its hash, when
            # both replays got the same bytes.
            pa.body_sha256 = pa.body_sha256 if pa.body_sha256 == pb.body_sha256 else None
            pa.body_text = pa.body_text if pa.body_sha256 else None
            # A redirect off the service: where it points, when both replays agree.
            pa.location = pa.location if pa.location == pb.location else None
            steps.append(pa)
            rendered_expected = None if expected is DROP or pa.json_body is None else _render(expected)
            rendered_steps.append(
                {
                    "method": pa.method if pa.method != "ANY" else "GET",
                    "url": _url_expression(
                        planned_step.endpoint, cap_a, planned_step.query, planned_step.path_values
                    ),
                    "body": repr(pa.body) if pa.body is not None else None,
                    "status": pa.status,
                    "expected": rendered_expected,
                    "sha256": pa.body_sha256,
                    "location": pa.location,
                    "capture": _var(planned_step.captures)
                    if planned_step.captures and planned_step.captures in cap_a
                    else None,
                    "capture_field": _capture_field(
                        taken_a[index].item if planned_step.finds is not None else pa.json_body,
                        cap_a.get(planned_step.captures or ""),
                        planned_step.captures or "",
                    ),
                    # A finder: the fields whose values find the created item in the answer.
                    "finds": repr(taken_a[index].matched) if taken_a[index].matched else None,
                    "signed_in": bool(planned_step.signed_in),
                }
            )
        if steps:
            scenarios.append(Scenario(name=spec.name, steps=steps))
            rendered.append({"name": spec.name, "steps": rendered_steps})
    if not scenarios:
        raise StageError(
            Verdict.nothing_testable,
            f"no endpoint of group {group.name} answered deterministically" + _why_not(crashed, varied),
            stage="testgen",
        )
    test_connect = render("tests/test_connect.py.j2", group=group, checks=connect_checks)
    shipped_sign_in = None
    if recipe is not None:
        imports, client = shipped_code.imports_and_body(sign_in_client.__file__)
        shipped_sign_in = {"imports": imports, "client": client, "recipe": pformat(recipe, width=100, sort_dicts=True)}
    finds = any(step["finds"] for scenario in rendered for step in scenario["steps"])
    test_func = render(
        "tests/test_func.py.j2",
        group=group,
        scenarios=rendered,
        sign_in=shipped_sign_in,
        collection_client=shipped_code.part(collection_client.__file__) if finds else None,
    )
    test_func = _allow_recorded_values(test_func)
    return TestSuite(
        group=group.name, test_connect=test_connect, test_func=test_func, scenarios=scenarios, sign_in=recipe
    )


#: How many of a group's refused endpoints a credential is tried on before it is judged.
TRIAL_ENDPOINTS = 3


def _sign_in_recipe(
    base_url: str, sign_in_plan: sign_in.SignInPlan | None, refused: list[Endpoint]
) -> dict[str, Any] | None:
    """How a new user gets past the refused endpoints, found live; None keeps the group's
    tests unsigned (what the refusals answer is then all there is to assert)."""
    if not refused or sign_in_plan is None:
        return None
    # A read is the harmless trial; a write only when the group refuses nothing else. A
    # credential that gets in may still meet a request its sample values break (a 500 for a
    # cursor that is not hex): the plainest requests of the first few refused endpoints are
    # tried, and the first that is let in answers for the credential.
    targets = sorted(refused, key=lambda e: (e.method != "GET", bool(path_params(e.path)), e.normalized_path))
    requests_to_try = []
    for target in targets[:TRIAL_ENDPOINTS]:
        plain = _concrete(target, {})
        for path in dict.fromkeys([plain, plain + query_string(sample_query(target))]):
            requests_to_try.append((target, path))

    def trial(headers: dict[str, str]) -> tuple[int, str]:
        answer = None
        for target, path in requests_to_try:
            answer = _send(base_url, target.method, path, sample_body(target), headers)
            if not sign_in.is_refusal(answer.status, answer.words()) and answer.status < 500:
                break
        assert answer is not None
        return answer.status, answer.words()

    return sign_in.establish(base_url, sign_in_plan, trial)


def _credential(base_url: str, recipe: dict[str, Any] | None) -> dict[str, str] | None:
    if recipe is None:
        return None
    try:
        return sign_in_client.sign_in(base_url, recipe)
    except (sign_in_client.SignInError, requests.RequestException) as exc:
        raise StageError(Verdict.nothing_testable, f"signing in again failed: {exc}", stage="testgen") from exc


def _capture_field(payload: Any, value: Any, param: str) -> str | None:
    """The subscripts the shipped test reads the followed id with (`["data"]["id"]`: the
    recording's capture_path)."""
    if value is None:
        return None
    path = capture_path(payload, param)
    if not path or _pick_capture(payload, param) != value:
        return None
    return "".join(f"[{json.dumps(key)}]" for key in path)


def _url_expression(
    endpoint: Endpoint,
    captured: dict[str, Any],
    query: dict[str, str] | None = None,
    path_values: dict[str, int] | None = None,
) -> str:
    """An f-string source for the request URL, with followed ids as variables (and the
    query string, which urlencode leaves without braces or quotes)."""
    path = endpoint.request_path.replace("{", "{{").replace("}", "}}")
    for name in path_params(endpoint.path):
        if path_values and name in path_values:
            value = str(path_values[name])
        else:
            value = "{" + _var(name) + "}" if name in captured else "1"
        path = path.replace("{{" + name + "}}", value)
    return 'f"{base_url}' + path.replace('"', '\\"') + query_string(query) + '"'


def conftest_source() -> str:
    """A task's tests/conftest.py: the service's address, `send` (with the upload client)."""
    return render("tests/conftest.py.j2", upload_client=upload_client.shipped_source())


_RECORDED_PRAGMA = "  # pragma: allowlist secret (recorded from the service)"


def _allow_recorded_values(test_func: str) -> str:
    """The test with each asserted answer that reads as a key to the package's secret scan
    (a digest, an etag, a short hex id the service answered twice alike) marked as
    recorded: it came from the service's answer, whose repository was redacted first. The
    scan is the one the package gate runs, so what it flags and only that is marked; any
    other line it flags (a request body, the sign-in recipe) still stops the package.

    detect-secrets reports a value once per file, at its first line: a digest two answers
    share (two uploads of the same bytes) is flagged again at its next line once the first
    is marked. So every line holding a flagged value is marked, not only the line named."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "test_func.py"
        path.write_text(test_func)
        found = redact.scan(Path(folder))
    flagged = {line for _, line, _, _ in found}
    values = {value for _, _, _, value in found if value}
    lines = test_func.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        if (
            (number in flagged or any(value in line for value in values))
            and line.lstrip().startswith("matches(response.json(),")
            and "pragma: allowlist secret" not in line
        ):
            lines[number - 1] = line.rstrip("\n") + _RECORDED_PRAGMA + "\n"
    return "".join(lines)


def _render(value: Any) -> str:
    """Python source for an expected value, understood by the tests' `matches`."""
    if isinstance(value, Captured):
        return value.var
    if isinstance(value, TypeOnly):
        return value.type_name
    if isinstance(value, AtService):
        return f"base_url + {value.rest!r}" if value.rest else "base_url"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_render(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return repr(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Captured):
        return f"<{value.var}>"
    if isinstance(value, TypeOnly):
        return f"<any {value.type_name}>"
    if isinstance(value, AtService):
        return f"<base_url>{value.rest}"
    if isinstance(value, _Drop):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value
