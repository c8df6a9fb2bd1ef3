# The README's two commands. Both set up everything on a fresh Debian machine (as root).
.PHONY: demo test setup bundle lint mutation fuzz

setup:
	bash .ci/setup.sh

demo: setup
	.venv/bin/sessiontape demo

# Lint and type checks first (fast, and what the README claims about them stays true), then
# the whole suite with real Chromium, moto and a local TSA.
test: setup lint
	.venv/bin/python -m pytest -q -p no:cacheprovider

# Rebuild the recorder bundle from recorder_js/ (needs node + npm).
bundle:
	.venv/bin/python recorder_js/build.py

lint: setup
	.venv/bin/ruff check agent tests
	.venv/bin/ruff format --check agent tests
	.venv/bin/mypy agent tests
	.venv/bin/python -m agent.cli.reference --check
	.venv/bin/python -m agent.bench.figures --check
	cd recorder_js && npm run --silent lint

# Mutation check of the verifier: every mutant of agent/seal/{verify,verify_checks,checkpoint,
# chain}.py must be killed by the tamper tests (2 parallel runs; see agent/seal/README.md).
PYTHON ?= .venv/bin/python
mutation:
	$(PYTHON) -m tests.mutation.mutate

# Property tests of the parsers an attacker controls, with many more examples than the normal
# suite runs (HYPOTHESIS_PROFILE=fuzz); a failure prints the input and a reproduction blob.
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest -q -p no:cacheprovider --timeout=0 tests/fuzz
