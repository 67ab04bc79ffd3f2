"""The shared solution-leak check: removed logic found in a text, routing not."""

from pipeline.leaks import find_leaks, solution_lines

PATCH = """diff --git a/app.py b/app.py
--- a/app.py
+++ b/app.py
@@ -1,6 +1,6 @@
 @app.route("/todos/<int:todo_id>", methods=["GET"])
 def get_todo(todo_id):
-    raise NotImplementedError("get_todo is not implemented")
+    todo = TODOS.get(todo_id)
+    if todo is None:
+        return jsonify({"error": "not found"}), 404
+    return jsonify(todo)
"""


def test_solution_lines_keep_only_removed_logic() -> None:
    lines = solution_lines(PATCH)
    assert 'return jsonify({"error": "not found"}), 404' in lines
    assert "return jsonify(todo)" not in lines  # too short to prove a leak
    assert not any("app.route" in line for line in lines)  # routing stays visible


def test_leak_found_whitespace_insensitively() -> None:
    text = 'Implement it like this:\n    return  jsonify({"error": "not found"}),   404\n'
    assert find_leaks(text, PATCH) == ['return jsonify({"error": "not found"}), 404']


def test_prose_and_routing_are_not_leaks() -> None:
    text = (
        'GET /todos/{todo_id} answers 404 with `{"error": "not found"}` when missing. '
        '@app.route("/todos/<int:todo_id>", methods=["GET"])'
    )
    assert find_leaks(text, PATCH) == []
