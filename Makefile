# The README's two commands. Both set up everything on a fresh Debian machine (as root).
.PHONY: demo test setup bundle lint fuzz

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

# Property tests of the parsers an attacker controls, with many more examples than the normal
# suite runs (HYPOTHESIS_PROFILE=fuzz); a failure prints the input and a reproduction blob.
fuzz: setup
	HYPOTHESIS_PROFILE=fuzz .venv/bin/python -m pytest -q -p no:cacheprovider --timeout=0 tests/fuzz
