# The two commands a newcomer runs (see README): `make demo` and `make test`.
.PHONY: setup demo test lint bench

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/abc-pipeline generate tests/fixtures/flask_todo --out generated_tasks

test: setup
	.venv/bin/ruff check .
	.venv/bin/pytest -q

lint:
	.venv/bin/ruff check .

bench: setup
	.venv/bin/python scripts/bench_discovery.py
