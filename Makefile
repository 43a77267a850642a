# One-word loop: make test, make lint, make bench.  Everything installs into
# .venv from this project's own files; nothing needs to be set up by hand.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast test-unit freeze lint format bench bench-sequences bench-migrate bench-verify bench-schema bench-backup bench-mask docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/pgferry demo $(DEMO_ARGS)

# Tests run in PYTEST_JOBS pytest-xdist workers, each with its own prod and QA clusters,
# handed out test by test (--dist load: a whole file per worker left one waiting on the
# longest file).  On this 2-core machine 2 workers did as well as 3.  PYTEST_JOBS=0 runs
# them in this one process.
PYTEST_JOBS ?= 2
XDIST := -n $(PYTEST_JOBS) --dist load

test: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) $(PYTEST_ARGS)

# The inner loop: every test not marked slow (the unit layer in tests/unit/ included).
test-fast: $(STAMP)
	$(BIN)/python -m pytest $(XDIST) -m "not slow" $(PYTEST_ARGS)

# The unit layer alone: pure functions over frozen catalogs, no server started.
test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

# Re-read tests/unit/frozen/ from real servers (after a change to the catalog model).
freeze: $(STAMP)
	$(BIN)/python scripts/freeze_catalogs.py

lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix src tests bench scripts
	$(BIN)/ruff format src tests bench scripts

# `make bench` runs every benchmark, one after the other, each with $(BENCH_ARGS):
# there, pass only options they all take (--pg-major N).
bench: $(STAMP)
	$(BIN)/python bench/sequences_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/migrate_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/verify_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/schema_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/backup_bench.py $(BENCH_ARGS)
	$(BIN)/python bench/mask_bench.py $(BENCH_ARGS)

bench-sequences: $(STAMP)
	$(BIN)/python bench/sequences_bench.py $(BENCH_ARGS)

bench-migrate: $(STAMP)
	$(BIN)/python bench/migrate_bench.py $(BENCH_ARGS)

bench-verify: $(STAMP)
	$(BIN)/python bench/verify_bench.py $(BENCH_ARGS)

bench-schema: $(STAMP)
	$(BIN)/python bench/schema_bench.py $(BENCH_ARGS)

bench-backup: $(STAMP)
	$(BIN)/python bench/backup_bench.py $(BENCH_ARGS)

bench-mask: $(STAMP)
	$(BIN)/python bench/mask_bench.py $(BENCH_ARGS)

docs: $(STAMP)
	$(BIN)/python scripts/cli_reference.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
