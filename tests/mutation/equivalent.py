"""Mutants that cannot change what the verifier reports, each with the reason.

Keys are :attr:`tests.mutation.mutants.Mutant.key` (``path::function: before -> after``, no
line number, so they survive edits elsewhere); ``python -m tests.mutation.mutate --list``
prints every mutant. An entry that matches no mutant is reported as stale.
"""

from __future__ import annotations

_KEYS = "agent/seal/verify_checks.py::check_keys: "

EQUIVALENT: dict[str, str] = {
    _KEYS + 'all(k in trust.keys for k in keys_seen) and not any( c.name == "key" and '
    "c.ok is False for c in rep.checks ) -> all((k in trust.keys for k in keys_seen)) or "
    "not any((c.name == 'key' and c.ok is False for c in rep.checks))": (
        "every key id seen was checked by signature_status, which records a failed key check "
        "exactly when the key is not trusted, so the two conditions are always equal"
    ),
    _KEYS + "c.ok is False -> c.ok is not False": (
        "before check_keys runs, a check named key is only ever recorded as failed, so no key "
        "check with ok not False exists to match"
    ),
}
