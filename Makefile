# Deep Learning Fundamentals with TensorFlow & Keras
#
#   make lab      set up .venv (first time) and open the course in JupyterLab
#   make test     set up .venv (first time) and run every test (fast profile)
#
# `make help` lists the other targets.

PYTHON ?= python3
VENV   := .venv
BIN    := $(CURDIR)/$(VENV)/bin
STAMP  := $(VENV)/.installed
# Instructors and tests also install the grading stack (Dask, PostgreSQL driver) and test tools.
GRADING_STAMP := $(VENV)/.installed-grading
KERNEL := dl-fundamentals
# Every target runs with the virtual environment's bin folder first on PATH:
# nbgrader calls `alembic` (and notebooks call `jupyter`) from PATH.
export PATH := $(BIN):$(PATH)
# Tests run in the fast profile (course_utils.config reads COURSE_PROFILE).
PYTEST := COURSE_PROFILE=fast $(BIN)/python -m pytest -p no:cacheprovider

ASSIGNMENTS := $(notdir $(wildcard solutions/[0-9]*))
GRADING_TESTS := tests/test_grading_units.py tests/test_grading_sandbox.py tests/test_html_safety.py \
                 tests/test_grading_robustness.py tests/test_round_trip.py tests/test_grade_class.py

.PHONY: help setup lab test test-unit test-notebooks test-release test-grading test-browser \
        release check-release lint typecheck doctest format bench autograde grade-class validate clean

help:
	@echo "make lab            open the course in JupyterLab (sets everything up the first time)"
	@echo "make test           every test, lint included, in the fast profile"
	@echo "make test-unit      the fast tests only (no notebook runs, no nbgrader, no browser)"
	@echo "make test-notebooks run every solution notebook with nbval"
	@echo "make test-release   notebooks/ is what nbgrader generates from solutions/"
	@echo "make test-grading   the grading tests: sandbox, judge, nbgrader round trip"
	@echo "make test-browser   the course in JupyterLab in headless Chromium"
	@echo "make release        regenerate notebooks/ from solutions/ with nbgrader"
	@echo "make lint           ruff, mypy and the docstring examples"
	@echo "make format         ruff format + fix"
	@echo "make bench          run every notebook in the full profile and write the results table"
	@echo "make validate NB=notebooks/01_data_preprocessing/01_data_preprocessing.ipynb"
	@echo "make autograde A=01_data_preprocessing   check, autograde, feedback and export submitted/"
	@echo "make grade-class    grade every new or changed submission: feedback, grades.csv, report"
	@echo "make clean          remove nbgrader's working folders and notebook outputs"

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; v = sys.version_info[:2]; sys.exit(0 if (3, 10) <= v <= (3, 12) else "Python 3.10-3.12 is needed, found %d.%d: run make PYTHON=python3.12 (or another)" % v)'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	# the kernel lives inside .venv: two clones of the course never share one
	$(BIN)/python -m ipykernel install --sys-prefix --name $(KERNEL) \
		--display-name "Python (Deep Learning Fundamentals)" >/dev/null
	touch $(STAMP)

$(GRADING_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[grading,test]'
	touch $(GRADING_STAMP)

setup: $(GRADING_STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root,) notebooks/

test: lint
	$(PYTEST) --durations=25 tests
	$(PYTEST) --nbval-lax solutions

test-unit: $(GRADING_STAMP)
	$(PYTEST) tests -m "not slow and not browser"

test-notebooks: $(GRADING_STAMP)
	$(PYTEST) --nbval-lax solutions

test-release check-release: $(GRADING_STAMP)
	$(PYTEST) tests/test_release.py

test-grading: $(GRADING_STAMP)
	$(PYTEST) $(GRADING_TESTS)

test-browser: $(GRADING_STAMP)
	$(PYTEST) tests/test_browser.py tests/test_browser_safety.py

release: $(GRADING_STAMP)
	@for a in $(ASSIGNMENTS); do \
		$(BIN)/nbgrader generate_assignment $$a --force --no-db --log-level=WARN || exit 1; \
	done

lint: $(GRADING_STAMP) typecheck doctest
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(GRADING_STAMP)
	$(BIN)/mypy

doctest: $(GRADING_STAMP)
	$(PYTEST) --doctest-modules course_utils benchmarks

format: $(GRADING_STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(GRADING_STAMP)
	$(BIN)/python -m benchmarks.run $(if $(PROFILE),--profile $(PROFILE),)

autograde: $(GRADING_STAMP)
	@test -n "$(A)" || (echo "usage: make autograde A=01_data_preprocessing"; exit 2)
	-$(BIN)/python -m course_utils.grading check $(A)
	$(BIN)/nbgrader autograde $(A)
	$(BIN)/nbgrader generate_feedback $(A)
	$(BIN)/nbgrader export
	$(BIN)/python -m course_utils.grading incidents $(A) || true

grade-class: $(GRADING_STAMP)
	$(BIN)/python -m course_utils.grading class $(ARGS)

validate: $(STAMP)
	@test -n "$(NB)" || (echo "usage: make validate NB=path/to/notebook.ipynb"; exit 2)
	$(BIN)/python -m course_utils.grading validate $(NB)

clean:
	rm -rf submitted autograded feedback gradebook.db .nbgrader.log outputs \
		notebooks/*/outputs solutions/*/outputs
