# The two commands a newcomer runs (see README): `make demo` and `make test`.
.PHONY: setup demo test lint bench bench-batch bench-env

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

# A batch over five fixture repositories, cold then warm (needs Docker; a few minutes).
bench-batch: setup
	.venv/bin/python scripts/bench_batch.py

# Cold and warm builds, start-up until healthy, Go's std-lib layer (needs Docker; a few minutes).
bench-env: setup
	.venv/bin/python scripts/bench_environment.py
