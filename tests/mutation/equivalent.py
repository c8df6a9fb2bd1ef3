"""Mutants that cannot change what the verifier reports, each with the reason.

Keys are :attr:`tests.mutation.mutants.Mutant.key` (``path::function: before -> after``, no
line number, so they survive edits elsewhere); ``python -m tests.mutation.mutate --list``
prints every mutant. An entry that matches no mutant is reported as stale.
"""

from __future__ import annotations

EQUIVALENT: dict[str, str] = {}
