"""Signed-in characterization: how a client gets in is found from the service's own routes
(stages/sign_in.py), confirmed on the live service, and the group's tests sign in at test
time as a new user (stages/sign_in_client.py) and check the refusals without credentials.

The detection runs on small inputs; the live half on a small in-process HTTP service (real
HTTP, no Docker): token in the JSON, nested or not, with a JSON or form login, a session
cookie, an API key from configuration. The Docker tests take the two fixtures written for
this (tests/fixtures/fastapi_auth_notes, express_jwt_tasks) through `generate` to verified
tasks and read their test_func.py.
"""

from __future__ import annotations

import base64
import json
import re
import uuid
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from urllib.parse import parse_qs

import discovery_support as ds
import pytest
import yaml
from stub_services import run_shipped_tests

from pipeline.config import Settings
from pipeline.generate import generate
from pipeline.models import ApiGroup, BodyField, Endpoint, Handler, Service, Verdict
from pipeline.runtime import sandbox
from pipeline.stages import package, redact, sign_in, sign_in_client, testgen

FIXTURES = Path(__file__).parent / "fixtures"


def _endpoint(method: str, path: str, fields: list[str] | None = None, file: str = "app.py") -> Endpoint:
    handler = Handler(file=file, name="h", line=1, start_byte=0, end_byte=10_000, body_start_byte=0, body_end_byte=1)
    body = [BodyField(name=name, type="str") for name in fields or []]
    return Endpoint(method=method, path=path, handler=handler, body_fields=body)


def _service(*endpoints: Endpoint) -> Service:
    return Service(root=".", language="python", framework="flask", endpoints=list(endpoints))


# --------------------------------------------------------------------------- detection


def test_detect_takes_registration_and_login_from_the_routes(tmp_path):
    service = _service(
        _endpoint("POST", "/api/auth/register", ["username", "email", "password", "display_name"]),
        _endpoint("POST", "/api/auth/login", ["username", "password"]),
        _endpoint("POST", "/api/auth/refresh", ["refresh_token"]),
        _endpoint("POST", "/api/auth/logout"),
        _endpoint("GET", "/api/notes"),
    )
    plan = sign_in.detect(service, tmp_path, {})
    assert plan.registration is not None and plan.login is not None
    assert plan.registration.path == "/api/auth/register" and plan.login.path == "/api/auth/login"
    assert plan.registration.fields == [
        ("username", "login"),
        ("email", "email"),
        ("password", "phrase"),
        ("display_name", "name"),
    ]
    assert plan.login.fields == [("username", "login"), ("password", "phrase")]
    assert plan.registration.encodings == ["json", "form"]
    assert plan.endpoints == ["POST /api/auth/register", "POST /api/auth/login"]
    assert plan.api_keys == []


def test_detect_reads_an_oauth2_password_form_and_signs_in_by_email(tmp_path):
    # The token endpoint reads FastAPI's OAuth2PasswordRequestForm (no JSON body fields):
    # form-encoded username/password first; the registration has no user name, so the
    # form's `username` carries the email.
    (tmp_path / "auth.py").write_text(
        "@router.post('/token')\ndef token(form: OAuth2PasswordRequestForm = Depends()):\n    ...\n"
    )
    service = _service(
        _endpoint("POST", "/users", ["email", "password"], file="auth.py"),
        _endpoint("POST", "/token", file="auth.py"),
    )
    plan = sign_in.detect(service, tmp_path, {})
    assert plan.registration is not None and plan.registration.path == "/users"
    assert plan.login is not None and plan.login.encodings == ["form", "json", "basic"]
    # No fields known: OAuth2's `username` and an email login's `email` both carry the email.
    assert plan.login.fields == [("username", "email"), ("email", "email"), ("password", "phrase")]


def test_detect_needs_a_password_to_call_a_users_collection_a_registration(tmp_path):
    service = _service(_endpoint("POST", "/users", ["name", "role"]), _endpoint("POST", "/sessions", ["email", "pass"]))
    plan = sign_in.detect(service, tmp_path, {})
    assert plan.registration is None
    assert plan.login is not None and plan.login.path == "/sessions"
    assert plan.login.fields == [("email", "email"), ("pass", "phrase")]
    assert sign_in.detect(_service(_endpoint("GET", "/notes")), tmp_path, {}).usable is False


def test_detect_reads_a_users_collection_beside_its_login_as_a_registration(tmp_path):
    # The RealWorld API's shape: POST /users registers, POST /users/login signs in, both with
    # a body wrapped in "user" that discovery could not see into.
    service = _service(_endpoint("POST", "/api/users"), _endpoint("POST", "/api/users/login"))
    plan = sign_in.detect(service, tmp_path, {})
    assert plan.registration is not None and plan.registration.path == "/api/users"
    assert plan.login is not None and plan.login.path == "/api/users/login"
    assert plan.registration.wraps == [None, "user"] and plan.login.wraps == [None, "user"]
    # A body known to be one object field is wrapped in it, and only in it.
    wrapped = _service(
        Endpoint(
            method="POST",
            path="/accounts",
            handler=_endpoint("POST", "/x").handler,
            body_fields=[BodyField(name="account", type="dict")],
        )
    )
    assert sign_in.detect(wrapped, tmp_path, {}).registration.wraps == ["account"]


def test_detect_pairs_the_header_the_code_reads_with_the_configured_key(tmp_path):
    (tmp_path / "server.js").write_text("if (req.get('X-Api-Key') !== process.env.SERVICE_API_KEY) res.status(401)\n")
    env = {"SERVICE_API_KEY": "dummy-SERVICE_API_KEY", "PORT": "3000", "LOG_LEVEL": "info"}
    plan = sign_in.detect(_service(_endpoint("GET", "/reports")), tmp_path, env)
    assert [(k.header, k.value, k.variable) for k in plan.api_keys] == [
        ("x-api-key", "dummy-SERVICE_API_KEY", "SERVICE_API_KEY")
    ]
    assert plan.usable


def test_a_field_the_code_checks_against_its_configuration_is_sent_that_value(tmp_path):
    # moneynote's registration: `@Value("${invite_code:111111}") String inviteCode;` compared
    # with the form's inviteCode. A sample value is refused ("invite code error").
    (tmp_path / "UserService.java").write_text(
        'class UserService {\n    @Value("${invite_code:111111}")\n    private String inviteCode;\n}\n'
    )
    (tmp_path / "settings.py").write_text('SIGNUP_TOKEN = os.getenv("SIGNUP_TOKEN", "let-me-in")\n')
    register = _endpoint("POST", "/register", ["username", "password", "inviteCode", "signupToken", "referrer"])
    register.body_fields[-1].required = True
    service = _service(register, _endpoint("POST", "/login", ["username", "password"]))
    plan = sign_in.detect(service, tmp_path, {})
    assert plan.registration.fields == [
        ("username", "login"),
        ("password", "phrase"),
        ("inviteCode", "111111"),
        ("signupToken", "let-me-in"),
        ("referrer", "sample"),
    ]
    # The value the pipeline configures the service with wins over the code's default.
    plan = sign_in.detect(service, tmp_path, {"INVITE_CODE": "dummy-INVITE_CODE"})
    assert ("inviteCode", "dummy-INVITE_CODE") in plan.registration.fields


def test_a_new_identity_fits_common_registration_rules():
    # "6 to 16 characters, letters and digits" (user names) and "6 to 16" or "up to 32"
    # (passwords) are common: a longer password was refused by a real registration.
    identity = sign_in_client.new_identity()
    assert re.fullmatch(r"[A-Za-z0-9]{6,16}", identity["login"])
    assert 8 <= len(identity["phrase"]) <= 16
    assert identity != sign_in_client.new_identity()


def test_find_token_in_the_answer_shallowest_first():
    assert sign_in.find_token({"access_token": "eyJhbGciOi.x.y", "token_type": "bearer"}) == ["access_token"]
    assert sign_in.find_token({"data": {"token": "abcdefgh12"}, "ok": True}) == ["data", "token"]
    assert sign_in.find_token({"user": {"jwt": "0123456789"}, "token": "short"}) == ["user", "jwt"]
    assert sign_in.find_token({"id": 3, "username": "x"}) is None
    assert sign_in.find_token([{"token": "abcdefgh12"}]) is None


# --------------------------------------------------------------------------- live


class _AccountsService(BaseHTTPRequestHandler):
    """Sign-up, a login, and /items only for a signed-in account.

    Class attributes pick the shape: `login_form` (the login reads a form), `credential`
    ("nested": {"data": {"token"}}, "top": {"access_token", "token_type"}, "cookie"),
    `api_key` (a fixed x-api-key instead of accounts) and `masked` (items answer 501).
    """

    login_form = False
    wrapped = False  # bodies in and out wrapped in "user", the token sent as `Token <t>`
    signup_path = "/signup"
    login_path = "/login"
    basic = None  # "token": GET /token behind HTTP Basic hands out the token; "every": Basic on every request
    credential = "nested"
    api_key: str | None = None
    masked = False
    refuse_in_words = False  # a stranger gets 200 {"code": 999, "msg": "Not Login"}, not 401
    accounts: dict[str, str] = {}
    sessions: dict[str, str] = {}
    items: dict[int, dict] = {}
    next_id = [1]

    def log_message(self, *args):
        pass

    def _read(self) -> dict:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return {k: v[0] for k, v in parse_qs(raw).items()}
        try:
            body = json.loads(raw or "{}")
        except ValueError:
            return {}
        if self.wrapped and self.path in (self.signup_path, self.login_path):
            return body.get("user") if isinstance(body.get("user"), dict) else {}
        return body

    def _answer(self, status: int, payload: object = None, headers: dict[str, str] | None = None) -> None:
        body = b"" if payload is None else json.dumps(payload).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _basic_user(self) -> str | None:
        scheme, _, value = (self.headers.get("Authorization") or "").partition(" ")
        if scheme != "Basic":
            return None
        email, _, password = base64.b64decode(value).decode().partition(":")
        return email if email in self.accounts and self.accounts[email] == password else None

    def _account(self) -> str | None:
        if self.basic == "every":
            return self._basic_user()
        if self.api_key is not None:
            return "key" if self.headers.get("X-Api-Key") == self.api_key else None
        if self.credential == "cookie":
            cookie = self.headers.get("Cookie", "")
            return self.sessions.get(cookie.removeprefix("sid="))
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return self.sessions.get(token) if scheme == ("Token" if self.wrapped else "Bearer") else None

    def do_POST(self):
        body = self._read()
        if self.path == self.signup_path:
            if not isinstance(body.get("email"), str) or len(body.get("password") or "") < 8:
                return self._answer(400, {"error": "email and a password of 8 characters"})
            if body["email"] in self.accounts:
                return self._answer(409, {"error": "taken"})
            self.accounts[body["email"]] = body["password"]
            return self._answer(201, {"email": body["email"]})
        if self.path == self.login_path:
            is_form = self.headers.get("Content-Type", "").startswith("application/x-www-form")
            if is_form != self.login_form:
                return self._answer(422, {"error": "wrong encoding"})
            email = body.get("username" if self.login_form else "email")
            if email not in self.accounts or self.accounts[email] != body.get("password"):
                return self._answer(401, {"error": "wrong email or password"})
            token = uuid.uuid4().hex
            self.sessions[token] = email
            if self.credential == "cookie":
                return self._answer(200, {"ok": True}, {"Set-Cookie": f"sid={token}; HttpOnly; Path=/"})
            if self.credential == "top":
                return self._answer(200, {"access_token": token, "token_type": "bearer"})
            if self.wrapped:
                return self._answer(200, {"user": {"email": email, "token": token}})
            return self._answer(200, {"data": {"token": token, "expires_in": 3600}})
        if self.path == "/items":
            return self._items("create", body)
        return self._answer(404, {"error": "no route"})

    def do_GET(self):
        if self.path == "/token" and self.basic == "token":
            email = self._basic_user()
            if email is None:
                return self._answer(401, {"error": "basic auth required"})
            token = uuid.uuid4().hex
            self.sessions[token] = email
            return self._answer(200, {"token": token})
        if self.path == "/items":
            return self._items("list", {})
        match = re.fullmatch(r"/items/(\d+)", self.path)
        if match:
            return self._items("get", {}, int(match.group(1)))
        return self._answer(404, {"error": "no route"})

    def _items(self, action: str, body: dict, item_id: int | None = None) -> None:
        owner = self._account()
        if owner is None and self.refuse_in_words:
            return self._answer(200, {"code": 999, "msg": "Not Login", "data": None})
        if owner is None:
            return self._answer(401, {"error": "sign in first"})
        if self.masked:
            return self._answer(501, {"error": "Not implemented"})
        if action == "create":
            if not body.get("title"):
                return self._answer(400, {"error": "title is required"})
            item = {"id": self.next_id[0], "title": body["title"], "owner": owner}
            self.items[item["id"]] = item
            self.next_id[0] += 1
            return self._answer(201, item)
        if action == "list":
            return self._answer(200, {"items": [i for i in self.items.values() if i["owner"] == owner]})
        item = self.items.get(item_id or 0)
        if item is None or item["owner"] != owner:
            return self._answer(404, {"error": "not found"})
        return self._answer(200, item)


def _service_class(**attributes) -> type[_AccountsService]:
    fresh = {"accounts": {}, "sessions": {}, "items": {}, "next_id": [1]}
    return type("Service", (_AccountsService,), {**fresh, **attributes})


_ROUTES = _service(
    _endpoint("POST", "/signup", ["email", "password"]),
    _endpoint("POST", "/login", ["email", "password"]),
    _endpoint("GET", "/items"),
    _endpoint("POST", "/items", ["title"]),
    _endpoint("GET", "/items/{item_id}"),
)
_ITEMS = ApiGroup(
    name="items",
    description="The items API.",
    service_root=".",
    endpoints=[e for e in _ROUTES.endpoints if e.path.startswith("/items")],
)


def _trial(url: str):
    import requests

    def trial(headers: dict[str, str]) -> tuple[int, str]:
        answer = requests.get(url + "/items", headers=headers, timeout=5)
        return answer.status_code, answer.text

    return trial


@pytest.mark.parametrize(
    ("attributes", "kind", "token_path", "scheme"),
    [
        ({"credential": "nested"}, "token", ["data", "token"], "Bearer"),
        ({"credential": "top"}, "token", ["access_token"], "Bearer"),
        ({"credential": "cookie"}, "cookie", [], ""),
    ],
)
def test_establish_finds_the_credential_and_how_it_is_sent(serve, tmp_path, attributes, kind, token_path, scheme):
    url = serve(_service_class(**attributes))
    recipe = sign_in.establish(url, sign_in.detect(_ROUTES, tmp_path, {}), _trial(url))
    assert recipe is not None
    assert (recipe["kind"], recipe["token_path"], recipe["scheme"]) == (kind, token_path, scheme)
    assert recipe["register"]["path"] == "/signup" and recipe["login"]["path"] == "/login"
    # Each sign-in is a new account: two in a row both get in.
    first, second = (sign_in_client.sign_in(url, recipe) for _ in range(2))
    assert first != second
    assert all(_trial(url)(headers)[0] == 200 for headers in (first, second))


def test_establish_tries_a_form_login_when_json_is_refused(serve, tmp_path):
    url = serve(_service_class(login_form=True, credential="top"))
    routes = _service(_endpoint("POST", "/signup", ["email", "password"]), _endpoint("POST", "/login"))
    recipe = sign_in.establish(url, sign_in.detect(routes, tmp_path, {}), _trial(url))
    assert recipe is not None and recipe["login"]["encoding"] == "form"
    assert recipe["login"]["fields"] == [["username", "email"], ["email", "email"], ["password", "phrase"]]


def test_establish_wraps_the_bodies_when_a_flat_one_is_refused(serve, tmp_path):
    # RealWorld's shape: {"user": {...}} in and out, the token sent as `Token <t>`.
    url = serve(_service_class(wrapped=True, signup_path="/api/users", login_path="/api/users/login"))
    routes = _service(
        _endpoint("POST", "/api/users"), _endpoint("POST", "/api/users/login"), _endpoint("GET", "/items")
    )
    recipe = sign_in.establish(url, sign_in.detect(routes, tmp_path, {}), _trial(url))
    assert recipe is not None
    assert (recipe["register"]["wrap"], recipe["login"]["wrap"]) == ("user", "user")
    assert (recipe["token_path"], recipe["header"], recipe["scheme"]) == (["user", "token"], "Authorization", "Token")


def test_establish_gets_a_token_from_an_endpoint_behind_basic_auth(serve, tmp_path):
    url = serve(_service_class(basic="token"))
    routes = _service(_endpoint("POST", "/signup", ["email", "password"]), _endpoint("GET", "/token"))
    plan = sign_in.detect(routes, tmp_path, {})
    assert plan.login is not None and plan.login.encodings == ["basic"]
    recipe = sign_in.establish(url, plan, _trial(url))
    assert recipe is not None
    assert (recipe["kind"], recipe["login"]["encoding"], recipe["token_path"]) == ("token", "basic", ["token"])
    assert _trial(url)(sign_in_client.sign_in(url, recipe))[0] == 200


def test_establish_sends_basic_auth_when_no_answer_carries_a_credential(serve, tmp_path):
    url = serve(_service_class(basic="every"))
    routes = _service(_endpoint("POST", "/signup", ["email", "password"]))
    recipe = sign_in.establish(url, sign_in.detect(routes, tmp_path, {}), _trial(url))
    assert recipe is not None and (recipe["kind"], recipe["user"]) == ("basic", "email")
    assert _trial(url)(sign_in_client.sign_in(url, recipe))[0] == 200
    assert "as HTTP Basic" in sign_in.describe(recipe)


def test_establish_uses_the_configured_api_key(serve, tmp_path):
    (tmp_path / "app.py").write_text("KEY_HEADER = 'X-Api-Key'\n")
    url = serve(_service_class(api_key="dummy-REPORTS_API_KEY"))
    plan = sign_in.detect(_service(_endpoint("GET", "/items")), tmp_path, {"REPORTS_API_KEY": "dummy-REPORTS_API_KEY"})
    recipe = sign_in.establish(url, plan, _trial(url))
    assert recipe == {"kind": "api_key", "header": "x-api-key", "value": "dummy-REPORTS_API_KEY"}


def test_establish_gives_up_when_no_sign_in_lets_anyone_in(serve, tmp_path):
    url = serve(_service_class(api_key="a-key-nobody-configured"))
    assert sign_in.establish(url, sign_in.detect(_ROUTES, tmp_path, {}), _trial(url)) is None


def test_characterize_records_the_group_signed_in_and_its_refusals(serve, tmp_path):
    url = serve(_service_class(credential="nested"))
    suite = testgen.characterize(url, _ITEMS, sign_in.detect(_ROUTES, tmp_path, {}))
    by_name = {s.name: s for s in suite.scenarios}
    lifecycle = by_name["items_lifecycle"]
    # Create and read only: a second item with other values is created and read back.
    assert [(p.method, p.path_template, p.status) for p in lifecycle.steps] == [
        ("POST", "/items", 201),
        ("GET", "/items/{item_id}", 200),
        ("POST", "/items", 201),
        ("GET", "/items/{item_id}", 200),
        ("GET", "/items", 200),
    ]
    # The owner differs between the two replays' users: not asserted; the title is.
    assert lifecycle.steps[0].stable_json == {"id": "<item_id>", "title": "sample title"}
    refusals = by_name["items_refuses_requests_without_sign_in"]
    assert {(p.method, p.path, p.status) for p in refusals.steps} == {
        ("GET", "/items", 401),
        ("POST", "/items", 401),
        ("GET", "/items/1", 401),
    }
    assert {p.signed_in for p in lifecycle.steps} == {True} and {p.signed_in for p in refusals.steps} == {False}
    assert suite.sign_in is not None and suite.sign_in["token_path"] == ["data", "token"]
    # The instruction says how the tests get in, and which answers are the refusals.
    behaviour = package._behaviour(_ITEMS, suite)
    assert "Without credentials: answers `401` with a JSON object containing `error`." in behaviour["GET /items"]
    assert "Answers `201` with a JSON object containing `id`, `title`." in behaviour["POST /items"]
    assert sign_in.describe(suite.sign_in) == (
        "These endpoints answer only signed-in users. The tests register a new user with `POST /signup` "
        "(JSON: `email`, `password`) and then sign in with `POST /login` (JSON: `email`, `password`), send the "
        "`data.token` of its answer as `Authorization: Bearer <data.token>` with every request, and expect "
        "requests without it to be refused as described."
    )
    text = suite.test_func
    assert "SIGN_IN = " in text and "def auth_headers(base_url)" in text
    assert "send(\"POST\", f\"{base_url}/items\", json={'title': 'sample title'}, headers=auth_headers)" in text
    assert 'send("GET", f"{base_url}/items/1")\n    assert response.status_code == 401' in text
    assert not re.search(r"[0-9a-f]{32}", text), "a token or session recorded at generation time was shipped"

    # The shipped tests sign in themselves: they pass on the original (also a second time,
    # as new users), and fail on a masked one that still refuses strangers.
    tests = tmp_path / "tests"
    for _ in range(2):
        run = run_shipped_tests(text, url, tests)
        assert run.returncode == 0, run.stdout + run.stderr
    masked = run_shipped_tests(text, serve(_service_class(credential="nested", masked=True)), tests)
    assert masked.returncode == 1, masked.stdout
    # Only the signed-in tests fail it: the refusals are the same with the handlers masked.
    assert "test_func.py::test_items_lifecycle" in masked.stdout and "1 passed" in masked.stdout, masked.stdout
    assert "test_items_refuses_requests_without_sign_in" not in masked.stdout, masked.stdout
    # The gate's secret scan over the package finds nothing to redact in the shipped recipe.
    assert redact.scan(tests) == []


@pytest.mark.parametrize(
    ("status", "body", "refusal"),
    [
        (401, "", True),
        (403, "<html>nope</html>", True),
        (200, '{"code": 999, "msg": "Not Login", "data": null}', True),
        (200, '{"code": 401, "message": "未登录"}', True),
        (200, '{"status": "token invalid"}', True),
        # Sa-Token's refusal in a 200 (RuoYi): a code of its own, and words in Chinese.
        (200, '{"code": 401, "msg": "认证失败，无法访问系统资源"}', True),
        (200, '{"errcode": "403", "errmsg": "x"}', True),
        (200, '{"code": 200, "msg": "ok", "data": {"id": 401}}', False),
        (200, '{"items": []}', False),
        # A long answer that mentions a word is content, not a refusal.
        (200, '{"articles": [{"title": "Why 403 Forbidden happens"}' + ', {"title": "x"}' * 40 + "]}", False),
        (500, '{"error": "unauthorized"}', False),
    ],
)
def test_is_refusal_reads_statuses_and_short_answers_in_words_or_codes(status, body, refusal):
    assert sign_in.is_refusal(status, body) is refusal


def test_characterize_signs_in_past_a_refusal_answered_with_200(serve, tmp_path):
    """A real Spring Boot blog answers every stranger `200 {"code": 999, "msg": "Not Login"}`:
    its groups were recorded unsigned, and every test pinned that one answer."""
    url = serve(_service_class(credential="nested", refuse_in_words=True))
    suite = testgen.characterize(url, _ITEMS, sign_in.detect(_ROUTES, tmp_path, {}))
    by_name = {s.name: s for s in suite.scenarios}
    assert suite.sign_in is not None and suite.sign_in["token_path"] == ["data", "token"]
    lifecycle = by_name["items_lifecycle"]
    assert {p.signed_in for p in lifecycle.steps} == {True}
    assert lifecycle.steps[0].stable_json == {"id": "<item_id>", "title": "sample title"}
    refusals = by_name["items_refuses_requests_without_sign_in"]
    assert {(p.method, p.status) for p in refusals.steps} == {("GET", 200), ("POST", 200)}


@pytest.mark.parametrize("plan", ["routes that do not get in", "no sign-in routes"])
def test_a_group_that_refuses_everything_and_cannot_be_signed_into_is_nothing_testable(serve, tmp_path, plan):
    """RuoYi answers every stranger `200 {"code": 401, "msg": "认证失败…"}` and signs in only
    past a captcha: the tests could assert nothing but the refusal, which its filter gives
    the masked handlers too. The group ends at once, saying so, instead of as noop_passed
    after a mask, a build and the gate's runs."""
    from pipeline.models import StageError

    class Walled(_AccountsService):
        accounts: dict[str, str] = {}
        sessions: dict[str, str] = {}
        items: dict[int, dict] = {}
        next_id = [1]
        signup_path = "/closed"  # the route is there in the code, and answers 404

        def _items(self, action: str, body: dict, item_id: int | None = None) -> None:
            return self._answer(200, {"code": 401, "msg": "认证失败，无法访问系统资源", "data": None})

    url = serve(Walled)
    routes = sign_in.detect(_ROUTES, tmp_path, {}) if plan == "routes that do not get in" else None
    with pytest.raises(StageError) as info:
        testgen.characterize(url, _ITEMS, routes)
    assert info.value.verdict == Verdict.nothing_testable
    reason = info.value.reason
    assert reason.startswith(
        "every endpoint of group items refuses a request without sign-in (GET /items answered 200 "
    )
    assert "认证失败" in reason
    if routes is None:
        assert reason.endswith("and its routes show no way for a new user to sign in")
    else:
        assert reason.endswith("and no credential from its sign-in routes got in")
    # One endpoint that answers anyone is something to test: the group is recorded.
    class HalfOpen(Walled):
        def do_GET(self):
            if self.path == "/items":
                return self._answer(200, {"items": []})
            return super().do_GET()

    suite = testgen.characterize(serve(HalfOpen), _ITEMS, routes)
    assert suite.scenarios


def test_characterize_without_refusals_signs_nothing(serve, tmp_path):
    # The same routes answering anyone: the tests stay what they were without a plan.
    class Open(_AccountsService):
        accounts: dict[str, str] = {}
        sessions: dict[str, str] = {}
        items: dict[int, dict] = {}
        next_id = [1]

        def _account(self) -> str | None:
            return "anyone"

    url = serve(Open)
    with_plan = testgen.characterize(url, _ITEMS, sign_in.detect(_ROUTES, tmp_path, {}))
    assert "SIGN_IN" not in with_plan.test_func and "auth_headers" not in with_plan.test_func
    assert not any(s.name.endswith("without_sign_in") for s in with_plan.scenarios)


# --------------------------------------------------------------------------- fixtures, end to end

AUTH_FIXTURES = {
    "fastapi_auth_notes": ("fastapi", "notes", "/notes"),
    "express_jwt_tasks": ("express", "tasks", "/api/tasks"),
}


@pytest.mark.parametrize("fixture", sorted(AUTH_FIXTURES))
def test_auth_fixture_discovery_matches_the_ground_truth(fixture):
    ds.assert_matches_ground_truth(AUTH_FIXTURES[fixture][0], FIXTURES / fixture, handlers=False)


@pytest.mark.docker
@pytest.mark.parametrize("fixture", sorted(AUTH_FIXTURES))
def test_signed_in_group_becomes_a_verified_task(fixture, run_id, tmp_path):
    _, group, prefix = AUTH_FIXTURES[fixture]
    # Trimmed like test_buildable_fixtures: one oracle run, the implementation variant,
    # only the protected group (the sign-in group has two endpoints).
    settings = Settings(
        work_dir=tmp_path / "work",
        out_dir=tmp_path / "out",
        oracle_runs=1,
        variants=["implementation"],
        min_group_endpoints=3,
    )
    result = generate(str(FIXTURES / fixture), settings, run_id=run_id)
    verified = [t for t in result.tasks if t.status == "verified"]
    assert result.verdict == Verdict.passed and [t.task_id.rsplit("__", 1)[1] for t in verified] == [group], (
        result.model_dump_json(indent=2)
    )
    task = Path(verified[0].path)
    report = json.loads((task / "metadata.json").read_text())["verification_report"]
    # The masked service still refuses strangers (its sign-in check is not masked), so only
    # the signed-in tests can fail it.
    assert report["noop_run"]["verdict"] == "tests_failed"
    noop = report["noop_run"]["tests"]
    assert noop[f"test_func.py::test_{group}_refuses_requests_without_sign_in"] is True
    assert any(not passed for name, passed in noop.items() if name.endswith("_lifecycle"))

    text = (task / "tests" / "test_func.py").read_text()
    signed_in_2xx = re.findall(
        r"send\(\"\w+\", f\"\{base_url\}" + re.escape(prefix) + r"[^\n]*headers=auth_headers\)\n"
        r"    assert response.status_code == (2\d\d)",
        text,
    )
    assert len(signed_in_2xx) >= 4, text
    refused = re.findall(
        r"send\(\"\w+\", f\"\{base_url\}" + re.escape(prefix) + r"(?:(?!headers=)[^\n])*\)\n"
        r"    assert response.status_code == (40[13])",
        text,
    )
    assert len(refused) == 5, text
    assert "def auth_headers(base_url)" in text and "sign_in(base_url, SIGN_IN)" in text
    instruction = yaml.safe_load((task / "task.yaml").read_text())["instruction"]
    assert "These endpoints answer only signed-in users." in instruction, instruction
    assert sandbox.leftovers(run_id) == []


def test_establish_signs_in_as_a_user_the_configuration_file_declares(serve, tmp_path):
    # blobstash: `auth: [{id: root, password: ...}]` in the YAML it is started with; it checks
    # `Basic <base64 of username:password>`, and the entry has an id but no username, so the
    # name it lets in is empty. It has no registration: no new user can be made.
    (tmp_path / "auth.go").write_text("user, pass, ok := r.BasicAuth()\n")
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf" / "server.yaml").write_text("listen: ':8050'\nauth:\n  - id: root\n    password: 'k3y'\n")
    (tmp_path / ".build.yml").write_text("tasks:\n  - user: ci\n    password: nope\n")  # a tool's file
    url = serve(_service_class(basic="every", accounts={"": "k3y"}))
    plan = sign_in.detect(_service(_endpoint("GET", "/items")), tmp_path, {})
    assert [(k.header, k.variable) for k in plan.api_keys] == [
        ("Authorization", "conf/server.yaml: root"),
        ("Authorization", "conf/server.yaml: "),
    ]
    recipe = sign_in.establish(url, plan, _trial(url))
    assert recipe == {
        "kind": "api_key",
        "header": "Authorization",
        "value": "Basic " + base64.b64encode(b":k3y").decode(),
    }
    assert _trial(url)(sign_in_client.sign_in(url, recipe))[0] == 200
    assert "HTTP Basic credentials of a user the service's configuration file declares" in sign_in.describe(recipe)


def test_configured_users_are_offered_only_to_code_that_checks_basic_auth(tmp_path):
    (tmp_path / "app.go").write_text('token := r.Header.Get("X-Token")\n')
    (tmp_path / "server.yaml").write_text("auth:\n  - id: root\n    password: 'k3y'\n")
    assert sign_in.detect(_service(_endpoint("GET", "/items")), tmp_path, {}).api_keys == []


class _HexCursorService(BaseHTTPRequestHandler):
    """blobstash's blob listing: HTTP Basic for `:k3y`, and a cursor that must be hex."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        from urllib.parse import urlsplit

        url = urlsplit(self.path)
        if self.headers.get("Authorization") != "Basic " + base64.b64encode(b":k3y").decode():
            status, body = 401, {"error": "Unauthorized"}
        elif "cursor" in parse_qs(url.query) and not all(
            c in "0123456789abcdef" for c in parse_qs(url.query)["cursor"][0]
        ):
            status, body = 500, {"error": "encoding/hex: invalid byte"}
        else:
            status, body = 200, {"data": []}
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def test_a_credential_is_judged_on_the_plainest_request_its_sample_values_do_not_break(serve, tmp_path):
    (tmp_path / "auth.go").write_text("ok := auth.Check(r) // BasicAuth\n")
    (tmp_path / "server.yaml").write_text("auth:\n  - id: root\n    password: 'k3y'\n")
    listing = _endpoint("GET", "/api/blobstore/blobs")
    listing.query_fields = [BodyField(name="cursor", type="str", required=True)]
    plan = sign_in.detect(_service(listing), tmp_path, {})
    url = serve(_HexCursorService)
    recipe = testgen._sign_in_recipe(url, plan, [listing])
    assert recipe is not None and recipe["value"] == "Basic " + base64.b64encode(b":k3y").decode()
