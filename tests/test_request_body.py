"""The JSON body fields PHP and Ruby handlers read (languages/{php,ruby}/request_body.py).

Without them test generation sends `{}` to a create, records only its 400, and the strength
gate rightly finds such tests weak (a canned 400 passes them): slim_v3_notes and
sinatra_notes, which test_buildable_fixtures.py verifies end to end, were rejected so.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.languages import get_framework
from pipeline.languages.php.request_body import json_body_fields as php_fields
from pipeline.languages.ruby.request_body import json_body_fields as ruby_fields
from pipeline.models import BodyField

FIXTURES = Path(__file__).parent / "fixtures"


def _fields(fields: list[BodyField]) -> list[tuple[str, str, bool]]:
    return [(f.name, f.type, f.required) for f in fields]


def test_slim_reads_the_parsed_body_with_its_casts_and_the_empty_check():
    framework = get_framework("slim")
    root = FIXTURES / "slim_v3_notes"
    endpoints = framework.discover(root, framework.detect(root)[0])
    by_key = {e.key: e for e in endpoints}
    create = next(e for k, e in by_key.items() if k.startswith("POST "))
    assert _fields(create.body_fields) == [("title", "str", True), ("body", "str", False), ("tags", "list", False)]
    assert all(not e.body_fields for e in endpoints if e.method in ("GET", "DELETE"))


def test_php_forms_laravel_symfony_and_what_is_not_the_body():
    laravel = """public function store(Request $request) {
        $valid = $request->validate(['title' => 'required|string|max:255', 'pages' => ['integer']]);
        $note = $request->input('note');
        $token = $request->headers->get('X-Token');
        $db = $this->container->get('db');
    }"""
    assert _fields(php_fields(laravel)) == [
        ("note", "str", False),
        ("title", "str", True),
        ("pages", "int", False),
    ]
    symfony = """public function create(Request $request): Response {
        $data = json_decode($request->getContent(), true);
        $qty = (int) ($data['qty'] ?? 0);
        if (empty($data['name'])) { throw new BadRequestHttpException('name'); }
    }"""
    assert _fields(php_fields(symfony)) == [("qty", "int", False), ("name", "str", True)]


def test_sinatra_reads_a_parsed_body_through_a_helper():
    framework = get_framework("sinatra")
    root = FIXTURES / "sinatra_notes"
    endpoints = framework.discover(root, framework.detect(root)[0])
    create = next(e for e in endpoints if e.method == "POST" and e.path.rstrip("/").endswith("notes"))
    assert _fields(create.body_fields) == [("title", "str", True), ("body", "str", False), ("tags", "list", False)]


def test_ruby_params_strong_parameters_and_route_captures():
    rails = """def update
      @note = Note.find(params[:id])
      count = params.fetch(:count).to_i
      @note.update(params.require(:note).permit(:title, :body, :id))
    end"""
    assert _fields(ruby_fields(rails, "/notes/:id")) == [
        ("count", "int", True),
        ("title", "str", False),
        ("body", "str", False),
    ]
    sinatra = """post "/:board/cards" do
      data = JSON.parse(request.body.read)
      halt 422 if data["text"].nil?
      { board: params[:board], text: data.fetch("text", "") }.to_json
    end"""
    assert _fields(ruby_fields(sinatra, "/:board/cards")) == [("text", "str", True)]
