# The two commands a newcomer runs (see README): `make demo` and `make test`.
.PHONY: setup demo test lint update-golden bench bench-batch bench-env bench-cli bench-real bench-redaction

setup:
	bash scripts/setup.sh

demo: setup
	.venv/bin/abc-pipeline generate tests/fixtures/flask_todo --out generated_tasks

test: setup
	.venv/bin/ruff check .
	bash scripts/run_tests.sh

lint:
	.venv/bin/ruff check .

# Rewrite the golden references (tests marked `golden`, e.g. tests/golden/dockerfiles/) from
# what the code produces now; a missing one fails `make test`. Review the diff before committing.
# No Docker needed (hence no `setup` prerequisite, like lint): only the .venv.
update-golden:
	ABC_UPDATE_GOLDEN=1 .venv/bin/pytest -q -p no:cacheprovider -m golden

bench: setup
	.venv/bin/python scripts/bench_discovery.py

# A batch over five fixture repositories, cold then warm (needs Docker; a few minutes).
bench-batch: setup
	.venv/bin/python scripts/bench_batch.py

# Cold and warm builds, start-up until healthy, Go's std-lib layer (needs Docker; a few minutes).
bench-env: setup
	.venv/bin/python scripts/bench_environment.py

# Real-repository yield: generate over the corpus's Python and JavaScript repositories, one at a
# time (needs Docker and the mirror snapshots; hours). Results: bench/results/$(BENCH_REAL_NAME).md/.json.
BENCH_REAL_MANIFEST ?= ../shared/corpus/abc-bench-repos.json
BENCH_REAL_MIRROR ?= ../.mirror
BENCH_REAL_LANGUAGES ?= Python,JavaScript
BENCH_REAL_NAME ?= corpus-python-js
BENCH_REAL_ARGS ?= --resume
bench-real: setup
	.venv/bin/python scripts/bench_real.py $(BENCH_REAL_MANIFEST) --mirror $(BENCH_REAL_MIRROR) \
		--languages $(BENCH_REAL_LANGUAGES) --name $(BENCH_REAL_NAME) $(BENCH_REAL_ARGS)

# CLI latency: cold and warm generate, explore, a bad input's verdict, with the shared
# Prefect server and with the ephemeral one (needs Docker; a few minutes).
bench-cli: setup
	.venv/bin/python scripts/bench_cli.py

# Redaction's secret scan: detect-secrets' own against the stage's exact prefilter, on one
# process and on a pool, findings compared exactly; tests/fixtures plus BENCH_REDACTION_DIRS
# (no Docker; minutes for a large repository, as detect-secrets' own scan is the slow one).
BENCH_REDACTION_DIRS ?=
bench-redaction:
	.venv/bin/python scripts/bench_redaction.py $(BENCH_REDACTION_DIRS)
