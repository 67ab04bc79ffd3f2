"""How a client signs in to a service, found from its own routes and code, then confirmed live.

Two halves. `detect` reads the service statically: a registration endpoint (`POST
/register`, `/signup`, a `/users` collection that takes a password, ...), a login or token
endpoint (`/login`, `/auth/token`, `/sessions`, ...), the roles of their body fields (a
user name, an email, a password), whether the login reads a form (FastAPI's
`OAuth2PasswordRequestForm`, `request.form`) and, for an API key, the header names the code
reads beside the configuration values the pipeline gives the service. Nothing is named
after one framework's or one repository's routes: these are the words such routes use.

`establish` runs only when some endpoint of a group refused a request without credentials
(401/403): it registers a new user on the live original, signs in, finds the credential in
the answer (a token anywhere in the JSON, `access_token`, `token`, `data.token`, ..., or a
Set-Cookie) and tries the ways of sending it (`Authorization: Bearer`, a bare token, the
`x-access-token` style headers, the cookie) on a refused endpoint until one is let in.
What worked is a recipe (stages/sign_in_client.py) that the recording and the shipped tests
follow alike, each time as a new user.
"""

from __future__ import annotations

import base64
import logging
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import requests
from pydantic import BaseModel, Field

from pipeline.languages.config_samples import config_files, configured_users
from pipeline.models import Endpoint, Service, path_params
from pipeline.stages import sign_in_client

log = logging.getLogger(__name__)

REFUSED = (401, 403)
# Words of a refusal a service answers with a success status ({"code": 999, "msg": "Not
# Login"}): many services answer every request 200 and say in the body that it was refused.
REFUSAL_WORDS = re.compile(
    r"not ?log(?:ged)? ?in|login required|please (?:log|sign) ?in|unauthori[sz]ed|not authori[sz]ed|"
    r"not authenticated|authentication (?:required|failed)|access denied|permission denied|forbidden|"
    r"token (?:is )?(?:missing|invalid|expired)|invalid token|"
    r"未登录|请登录|请先登录|请重新登录|登录已?过期|认证失败|未认证|未授权|无权限|没有权限|无权访问",
    re.IGNORECASE,
)
# The status a service puts in the body of a success ({"code": 401, "msg": "..."}: RuoYi,
# Sa-Token and many other wrappers answer every request 200 and carry the real one there).
REFUSAL_CODE = re.compile(r'"(?:code|status|statusCode|status_code|errcode|errCode|error_code)"\s*:\s*"?(?:401|403)\b')
# A refusal in words is a short answer: a page or a list that mentions "forbidden" is not one.
_REFUSAL_MAX_CHARS = 300


def is_refusal(status: int, body: str | None = None) -> bool:
    """Whether an answer refused the request for want of credentials: 401/403, or a success
    status whose short body says so, in words or with a 401/403 code of its own."""
    if status in REFUSED:
        return True
    return 200 <= status < 300 and bool(body) and len(body) <= _REFUSAL_MAX_CHARS and says_refused(body)


def says_refused(body: str) -> bool:
    """Whether a body says, in words or with a code of its own, that a request was refused."""
    return bool(REFUSAL_WORDS.search(body) or REFUSAL_CODE.search(body))


_REGISTER = {"register", "registration", "signup", "sign-up", "sign_up", "join", "users", "user", "accounts", "account"}
# Collections that also hold other things: a registration only when the body takes a password.
_NEEDS_PASSWORD = {"users", "user", "accounts", "account"}
_LOGIN = {
    "login", "log-in", "log_in", "signin", "sign-in", "sign_in", "token", "tokens", "session", "sessions",
    "authenticate", "auth", "access-token", "access_token", "jwt",
}  # fmt: skip
_NOT_SIGN_IN = re.compile(r"refresh|logout|log-out|signout|sign-out|verify|reset|forgot|confirm|revoke", re.I)
_TOKEN_KEYS = (
    "access_token", "accessToken", "token", "jwt", "id_token", "idToken", "auth_token", "authToken",
    "session_token", "sessionToken", "bearer", "key",
)  # fmt: skip
# How a bearer credential may be sent, tried in this order; headers the code names come first.
_TOKEN_HEADERS = [
    ("Authorization", "Bearer"),
    ("Authorization", ""),
    ("Authorization", "Token"),
    ("Authorization", "JWT"),
]
_TOKEN_HEADER_NAMES = ("x-access-token", "x-auth-token", "token")
_HEADER_LITERAL = re.compile(r"""["'`]((?:[a-z]+-)+(?:api-?key|key|token)|(?:x-)?api-?key)["'`]""", re.I)
_SECRET_ENV = re.compile(r"API_?KEY|ACCESS_KEY|AUTH_TOKEN|API_TOKEN|SERVICE_TOKEN|ADMIN_TOKEN|^TOKEN$|_KEY$", re.I)
_FORM_HINTS = re.compile(r"OAuth2PasswordRequestForm|Form\(|request\.form|urlencoded|request\.POST|params\[")
_SOURCE_SUFFIXES = {".py", ".js", ".mjs", ".cjs", ".ts", ".go", ".rb", ".php", ".java", ".kt", ".rs", ".cs"}
# A value the code falls back to when its configuration does not set one: Spring's
# `${invite_code:111111}`, `os.getenv("INVITE_CODE", "x")`, `process.env.X || "x"`. A sign-in
# field the code checks against its configuration (an invitation code, a registration
# secret) is sent that value, not a sample.
_CONFIG_DEFAULT = re.compile(
    r"""\$\{([\w.\-]+):([^}\s]+)\}"""
    r"""|(?:getenv|environ\.get|env)\(\s*["'](\w+)["']\s*,\s*["']([^"']+)["']"""
    r"""|process\.env\.(\w+)\s*(?:\|\||\?\?)\s*["'`]([^"'`]+)["'`]"""
)
# Code that checks HTTP Basic credentials (Go's r.BasicAuth(), an "Authorization: Basic" parser).
_BASIC_AUTH = re.compile(r"BasicAuth|[\"'`]Basic ")
_MAX_SOURCE_FILES = 400
_MAX_SOURCE_BYTES = 512 * 1024


class SignInStep(BaseModel):
    """One request of the sign-in: where it goes, how its body is encoded, what each field carries."""

    method: str = "POST"
    path: str
    encodings: list[Literal["json", "form", "basic"]] = Field(
        description="the encodings to try, likeliest first; basic: no body, HTTP Basic credentials"
    )
    fields: list[tuple[str, Any]] = Field(description="[field name, role or literal sample value]")
    wraps: list[str | None] = Field(
        default_factory=lambda: [None],
        description='the key the body may be wrapped in (`{"user": {...}}`), tried in order; None: not wrapped',
    )


class ApiKeyCandidate(BaseModel):
    header: str
    value: str = Field(description="the value the pipeline configures the service with")
    variable: str


class SignInPlan(BaseModel):
    """What the service's code says about signing in; confirmed live by `establish`."""

    registration: SignInStep | None = None
    login: SignInStep | None = None
    token_headers: list[str] = Field(default_factory=list, description="token-carrying headers the code names")
    api_keys: list[ApiKeyCandidate] = Field(default_factory=list)
    endpoints: list[str] = Field(default_factory=list, description="keys of the sign-in endpoints themselves")

    @property
    def usable(self) -> bool:
        return self.registration is not None or self.login is not None or bool(self.api_keys)


# --------------------------------------------------------------------------- static


def _last_segment(endpoint: Endpoint) -> str:
    parts = [p for p in endpoint.normalized_path.strip("/").split("/") if p]
    return parts[-1].lower() if parts else ""


def _role(name: str, has_login_field: bool) -> str | None:
    lowered = name.lower().replace("-", "_")
    if "pass" in lowered or lowered in ("pwd", "secret"):
        return "phrase"
    if "mail" in lowered:
        return "email"
    if lowered in ("username", "user_name", "user", "login", "handle", "nickname", "userid", "user_id", "account"):
        return "login" if has_login_field else "email"
    if lowered in ("name", "full_name", "fullname", "display_name", "displayname", "first_name", "last_name"):
        return "name"
    return None


def _sample(type_name: str) -> Any:
    return {"int": 1, "float": 1.5, "bool": False, "list": [], "dict": {}}.get(type_name, "sample")


def _handler_source(root: Path, endpoint: Endpoint) -> str:
    try:
        data = (root / endpoint.handler.file).read_bytes()
    except OSError:
        return ""
    return data[endpoint.handler.start_byte : endpoint.handler.end_byte].decode("utf-8", "replace")


def _wraps(endpoint: Endpoint) -> list[str | None]:
    """Where the sign-in fields may sit: a body of one object field (`{"user": {...}}`, as the
    RealWorld API spec has it) wraps them; with no fields known, the resource the path names
    (`/users`, `/users/login`: "user") is tried after a flat body."""
    objects = [f for f in endpoint.body_fields if f.type == "dict"]
    if len(endpoint.body_fields) == 1 and objects:
        return [objects[0].name]
    if endpoint.body_fields:
        return [None]
    segments = [p.lower() for p in endpoint.normalized_path.strip("/").split("/")]
    resource = next((p for p in reversed(segments) if p in _NEEDS_PASSWORD), None)
    return [None, resource.rstrip("s")] if resource else [None]


def _config_key(name: str) -> str:
    """A configuration key or field name as one word: `app.invite-code`, `INVITE_CODE` and
    `inviteCode` are all `invitecode`."""
    return re.sub(r"[^a-z0-9]", "", name.rsplit(".", 1)[-1].lower())


def configured_values(texts: list[str], env: dict[str, str]) -> dict[str, str]:
    """Configuration key (as `_config_key` spells it) -> the value the running service has:
    the one the pipeline configures it with, else the default its code falls back to."""
    out = {_config_key(name): value for name, value in env.items() if value}
    for text in texts:
        if "${" not in text and "env" not in text:
            continue
        for match in _CONFIG_DEFAULT.finditer(text):
            key, value = next((k, v) for k, v in zip(match.groups()[::2], match.groups()[1::2], strict=True) if k)
            out.setdefault(_config_key(key), value)
    return out


def _step(
    root: Path,
    endpoint: Endpoint,
    has_login_field: bool,
    default: list[str],
    is_login: bool = False,
    configured: dict[str, str] | None = None,
) -> SignInStep:
    fields: list[tuple[str, Any]] = []
    wraps = _wraps(endpoint)
    body_fields = [] if wraps[0] is not None else endpoint.body_fields
    for body_field in body_fields:
        role = _role(body_field.name, has_login_field)
        if role is not None:
            fields.append((body_field.name, role))
        elif (value := (configured or {}).get(_config_key(body_field.name))) is not None:
            fields.append((body_field.name, value))
        elif body_field.required:
            fields.append((body_field.name, _sample(body_field.type)))
    if not any(role == "phrase" for _, role in fields):
        # Discovery saw no JSON body (a form, a parsed model it could not follow): the usual names.
        known = {name for name, _ in fields}
        fields += [(name, _role(name, has_login_field)) for name in default if name not in known]
    form_first = bool(_FORM_HINTS.search(_handler_source(root, endpoint))) or not endpoint.body_fields
    encodings: list[Literal["json", "form", "basic"]] = ["form", "json"] if form_first else ["json", "form"]
    if is_login:
        # A token endpoint behind basic auth reads who asks from HTTP Basic; a GET only so.
        encodings = ["basic"] if endpoint.method == "GET" else [*encodings, "basic"]
    return SignInStep(
        method=endpoint.method, path=endpoint.request_path, encodings=encodings, fields=fields, wraps=wraps
    )


def _takes_password(endpoint: Endpoint) -> bool:
    return any(_role(f.name, True) == "phrase" for f in endpoint.body_fields)


def _source_texts(root: Path, service_root: str) -> list[str]:
    base = (root / service_root).resolve()
    texts: list[str] = []
    for path in sorted(base.rglob("*")):
        if len(texts) >= _MAX_SOURCE_FILES:
            break
        if path.suffix not in _SOURCE_SUFFIXES or "node_modules" in path.parts or ".git" in path.parts:
            continue
        try:
            if path.stat().st_size <= _MAX_SOURCE_BYTES:
                texts.append(path.read_text(errors="replace"))
        except OSError:
            continue
    return texts


def _configured_basic(service_root: Path) -> list[ApiKeyCandidate]:
    """HTTP Basic credentials of the users the repository's configuration files declare: a
    service that checks Basic auth against its configured users lets those in, and no
    registration makes new ones."""
    out = []
    for rel, data in config_files(service_root):
        for user, secret in configured_users(data):
            value = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
            out.append(ApiKeyCandidate(header="Authorization", value=value, variable=f"{rel}: {user}"))
    return out


def detect(service: Service, root: Path, env: dict[str, str]) -> SignInPlan:
    """The sign-in endpoints and API-key candidates the service's routes and code name."""
    posts = [
        e
        for e in service.endpoints
        if e.method == "POST" and not path_params(e.path) and not _NOT_SIGN_IN.search(e.normalized_path)
    ]
    # A GET that hands out a token (behind basic auth) only when no POST signs in.
    token_gets = [
        e
        for e in service.endpoints
        if e.method == "GET" and not path_params(e.path) and _last_segment(e) in ("token", "tokens")
    ]
    logins = [e for e in posts if _last_segment(e) in _LOGIN] or token_gets

    def registers_here(e: Endpoint) -> bool:
        if _last_segment(e) not in _NEEDS_PASSWORD:
            return True
        # A users collection registers when its body takes a password, or, its body unknown,
        # when the login sits under it (`POST /users` beside `POST /users/login`).
        under = any(login.normalized_path.startswith(e.normalized_path.rstrip("/") + "/") for login in logins)
        return _takes_password(e) or (under and not e.body_fields) or _wraps(e)[0] is not None

    registers = [e for e in posts if _last_segment(e) in _REGISTER and registers_here(e)]
    logins = [e for e in logins if e not in registers]
    register = min(registers, key=lambda e: len(e.normalized_path), default=None)
    login = min(logins, key=lambda e: len(e.normalized_path), default=None)
    has_login_field = (
        register is None
        or any(_role(f.name, True) == "login" for f in register.body_fields)
        or not register.body_fields
    )
    texts = _source_texts(root, service.root)
    named = sorted({m.group(1).lower() for text in texts for m in _HEADER_LITERAL.finditer(text)})
    token_headers = [h for h in named if "key" not in h]
    api_keys = [
        ApiKeyCandidate(header=header, value=value, variable=name)
        for name, value in sorted(env.items())
        if _SECRET_ENV.search(name) and value
        for header in (named or ["x-api-key"])
        if "key" in header or "token" in header
    ]
    if any(_BASIC_AUTH.search(text) for text in texts):
        api_keys += _configured_basic(root / service.root)
    configured = configured_values(texts, env)
    return SignInPlan(
        registration=_step(root, register, has_login_field, ["username", "email", "password"], configured=configured)
        if register
        else None,
        # With no fields known the login gets both names: OAuth2's form reads `username`,
        # an email login `email`; a field the service does not read is ignored.
        login=_step(root, login, has_login_field, ["username", "email", "password"], is_login=True) if login else None,
        token_headers=token_headers,
        api_keys=api_keys,
        endpoints=[e.key for e in (register, login) if e is not None],
    )


# --------------------------------------------------------------------------- live


def find_token(payload: Any) -> list[str] | None:
    """The keys leading to a token in a sign-in answer, the shallowest first."""
    level: list[tuple[list[str], Any]] = [([], payload)]
    while level:
        deeper: list[tuple[list[str], Any]] = []
        for path, value in level:
            if not isinstance(value, dict):
                continue
            for key in _TOKEN_KEYS:
                token = value.get(key)
                if isinstance(token, str) and len(token) >= 8:
                    return [*path, key]
            deeper += [([*path, k], v) for k, v in value.items() if isinstance(v, dict)]
        level = deeper
    return None


def _token_type(payload: Any, path: list[str]) -> str | None:
    parent = payload
    for key in path[:-1]:
        parent = parent[key]
    kind = parent.get("token_type") or parent.get("tokenType") or parent.get("type")
    return kind.capitalize() if isinstance(kind, str) and kind.lower() in ("bearer", "token", "jwt") else None


def _recipe_step(step: SignInStep, encoding: str, wrap: str | None) -> dict[str, Any]:
    return {
        "method": step.method,
        "path": step.path,
        "encoding": encoding,
        "fields": [list(f) for f in step.fields],
        "wrap": wrap if wrap in step.wraps else None,
    }


def _attempts(plan: SignInPlan) -> list[dict[str, tuple[str, str | None]]]:
    """(encoding, wrap) per sign-in request, likeliest first; one API wraps its bodies alike."""
    steps = {name: step for name, step in (("register", plan.registration), ("login", plan.login)) if step}
    wraps = list(dict.fromkeys(w for step in steps.values() for w in step.wraps))
    register = steps.get("register")
    login = steps.get("login")
    attempts = []
    for wrap in wraps:
        for register_encoding in register.encodings if register else ["json"]:
            for login_encoding in login.encodings if login else ["json"]:
                if wrap is not None and {"form", "basic"} & {register_encoding, login_encoding}:
                    continue  # a wrapped body is JSON
                attempts.append({"register": (register_encoding, wrap), "login": (login_encoding, wrap)})
    return attempts


def _account_recipes(base_url: str, plan: SignInPlan) -> Iterator[dict[str, Any]]:
    """Recipes whose sign-in the live service answered with a credential, likeliest first
    (whether the credential lets anyone in is tried by the caller: a service may answer a
    sign-in it did not understand with a token that opens nothing)."""
    parts = [(name, step) for name, step in (("register", plan.registration), ("login", plan.login)) if step]
    if not parts:
        return
    for attempt in _attempts(plan):
        base: dict[str, Any] = {name: None for name in ("register", "login")}
        base.update({name: _recipe_step(step, *attempt[name]) for name, step in parts})
        identity = sign_in_client.new_identity()
        answer = None
        try:
            for name, _ in parts:
                answer = sign_in_client.send_sign_in_request(base_url, base[name], identity)
                if not 200 <= answer.status_code < 400:
                    log.info("sign-in %s answered %s: %s", name, answer.status_code, answer.text[:200])
                    answer = None
                    break
        except requests.RequestException as exc:
            log.info("sign-in attempt failed: %s", exc)
            answer = None
        if answer is None:
            continue
        try:
            payload = answer.json()
        except ValueError:
            payload = None
        token_path = find_token(payload)
        if token_path:
            hint = _token_type(payload, token_path)
            yield {**base, "kind": "token", "token_path": token_path, "scheme_hint": hint}
        if answer.cookies:
            yield {**base, "kind": "cookie", "token_path": []}


def establish(
    base_url: str, plan: SignInPlan, trial: Callable[[dict[str, str]], tuple[int, str]]
) -> dict[str, Any] | None:
    """A recipe that gets a new user (or the configured key) in, or None.

    `trial` sends one request the service refused without credentials, with the given
    headers, and returns its status and body: the credential works when the answer is
    neither a refusal (a status or words, `is_refusal`) nor a crash.
    """
    if not plan.usable:
        return None
    base_url = base_url.rstrip("/")

    def let_in(headers: dict[str, str]) -> bool:
        try:
            status, body = trial(headers)
        except requests.RequestException:
            return False
        return not is_refusal(status, body) and status < 500

    for recipe in _account_recipes(base_url, plan):
        hint = recipe.pop("scheme_hint", None)
        if recipe["kind"] == "cookie":
            shapes = [("Cookie", "")]
        else:
            named = [(h, "") for h in plan.token_headers]
            shapes = [
                ("Authorization", hint or "Bearer"),
                *named,
                *_TOKEN_HEADERS,
                *((h, "") for h in _TOKEN_HEADER_NAMES),
            ]
        for header, scheme in dict.fromkeys(shapes):
            candidate = {**recipe, "header": header, "scheme": scheme}
            headers = _signed_in(base_url, candidate)
            if headers is None:
                break
            if let_in(headers):
                return candidate
    # No credential in any answer: the new user's name and password on every request.
    if plan.registration is not None:
        roles = [r for r in ("login", "email") if any(role == r for _, role in plan.registration.fields)]
        for encoding in plan.registration.encodings:
            step = _recipe_step(plan.registration, encoding, None)
            for role in roles:
                candidate = {"kind": "basic", "register": step, "login": None, "user": role}
                headers = _signed_in(base_url, candidate)
                if headers is None:
                    break
                if let_in(headers):
                    return candidate
    for key in plan.api_keys:
        if let_in({key.header: key.value}):
            return {"kind": "api_key", "header": key.header, "value": key.value}
    return None


def _signed_in(base_url: str, candidate: dict) -> dict[str, str] | None:
    """The headers a recipe signs in with on the live service, or None when it fails."""
    try:
        return sign_in_client.sign_in(base_url, candidate)
    except (sign_in_client.SignInError, requests.RequestException) as exc:
        log.info("sign-in recipe failed: %s", exc)
        return None


# --------------------------------------------------------------------------- in words


def describe(recipe: dict[str, Any]) -> str:
    """How the tests sign in, for the task's instruction (no value the tests make up)."""
    if recipe["kind"] == "api_key" and str(recipe["value"]).startswith("Basic "):
        return (
            "These endpoints answer only signed-in users. The tests send the HTTP Basic credentials of a user "
            "the service's configuration file declares; without them these endpoints must refuse the request "
            "as described."
        )
    if recipe["kind"] == "api_key":
        return (
            f"The tests send the key the service is configured with in the `{recipe['header']}` header; "
            "without it these endpoints must refuse the request as described."
        )
    steps = []
    for part, verb in (("register", "register a new user with"), ("login", "sign in with")):
        step = recipe.get(part)
        if step:
            fields = ", ".join(f"`{name}`" for name, _ in step["fields"])
            if step["encoding"] == "basic":
                steps.append(f"{verb} `{step['method']} {step['path']}` (HTTP Basic: the user's name and password)")
                continue
            encoding = "a form" if step["encoding"] == "form" else "JSON"
            steps.append(f"{verb} `{step['method']} {step['path']}` ({encoding}: {fields})")
    if recipe["kind"] == "basic":
        carried = f"send the user's {'email' if recipe['user'] == 'email' else 'name'} and password as HTTP Basic"
    elif recipe["kind"] == "cookie":
        carried = "send the session cookie it sets"
    else:
        where = ".".join(recipe["token_path"])
        value = f"{recipe['scheme']} <{where}>" if recipe["scheme"] else f"<{where}>"
        carried = f"send the `{where}` of its answer as `{recipe['header']}: {value}`"
    return (
        f"These endpoints answer only signed-in users. The tests {' and then '.join(steps)}, {carried} with every "
        "request, and expect requests without it to be refused as described."
    )
