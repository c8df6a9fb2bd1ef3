# The README's two commands. Both set up everything on a fresh Debian machine (as root).
.PHONY: demo test setup bundle lint mutation

setup:
	bash .ci/setup.sh

demo: setup
	.venv/bin/sessiontape demo

test: setup
	.venv/bin/python -m pytest -q -p no:cacheprovider

# Rebuild the recorder bundle from recorder_js/ (needs node + npm).
bundle:
	.venv/bin/python recorder_js/build.py

lint:
	.venv/bin/ruff check agent tests
	.venv/bin/mypy agent tests

# Mutation check of the verifier: every mutant of agent/seal/{verify,verify_checks,checkpoint,
# chain}.py must be killed by the tamper tests (2 parallel runs; see agent/seal/README.md).
PYTHON ?= .venv/bin/python
mutation:
	$(PYTHON) -m tests.mutation.mutate
