"""Fuzzing the segment reader and verifier with mutated copies of a real sealed segment.

The property, for any mutation (:mod:`tests.fuzz.segments`):

1. ``verify`` (:func:`agent.seal.verify.verify_paths`, what the CLI calls, with decryption
   and the TSA root) returns a report; it never raises.
2. If the *committed content* changed (any value a signature, the hash chain or the AEAD
   covers, read back with plain SQLite) or SQLite cannot read the file any more, the report
   does not pass. A flip in free space, in the schema text or in a trigger changes no
   committed content and may pass: the file's bytes are not what is signed, its content is.
3. The reader (:func:`agent.journal.reader.iter_records`) yields records or raises an error
   of the project's tree, nothing else.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.errors import SessiontapeError
from agent.journal.reader import iter_records
from agent.seal.tsa_local import LocalTSA
from agent.seal.verify import verify_paths
from tests.fuzz.profiles import budget
from tests.fuzz.segments import Sealed, apply_mutation, committed_content, mutations, sealed_segment


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory, local_tsa: LocalTSA) -> Sealed:
    return sealed_segment(tmp_path_factory.mktemp("fuzz-seg") / "home", local_tsa)


def check_mutated(sealed: Sealed, mutation: tuple[Any, ...]) -> None:
    """Apply ``mutation`` to a copy of the segment and assert the property."""
    with tempfile.TemporaryDirectory(prefix="st-fuzz-") as tmp:
        path = Path(tmp) / sealed.name
        path.write_bytes(sealed.data)
        apply_mutation(path, mutation)
        report = verify_paths(
            [path],
            sealed.trust,
            keyring=sealed.keyring,
            decrypt=True,
            tst_verifier=sealed.tst_verifier,
        )
        if committed_content(path) != sealed.content:
            assert not report.ok, f"changed content verified: {report.as_dict()}"
        try:
            for _ in iter_records(path, sealed.keyring):
                pass
        except SessiontapeError:
            pass


def test_untouched_copy_verifies(sealed: Sealed) -> None:
    """The baseline: the unmutated segment passes, so a failure below is the mutation's."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / sealed.name
        path.write_bytes(sealed.data)
        report = verify_paths(
            [path],
            sealed.trust,
            keyring=sealed.keyring,
            decrypt=True,
            tst_verifier=sealed.tst_verifier,
        )
        assert report.ok, report.first_failure
        assert report.segments[0].tst_time
        assert (
            len(list(iter_records(path, sealed.keyring))) == 14
        )  # session.start, 12 ticks, session.end


@budget(150)
@given(st.data())
def test_mutated_segment_fails_verification_or_is_unchanged(
    sealed: Sealed, data: st.DataObject
) -> None:
    """Any mutation: verify reports (never raises) and fails when committed content changed;
    the reader raises only project errors."""
    check_mutated(sealed, data.draw(mutations(sealed), label="mutation"))


# Regressions the property found: each crashed verify or the reader (TypeError, ValueError,
# MemoryError), or verified a changed segment, before the fix.

REGRESSIONS: dict[str, tuple[Any, ...]] = {
    "header stored as text": ("set", "chunks", "header", 0, ""),
    # Byte 4091 lies in the schema text on page 1: SQLite's error message then quotes bytes
    # that are not UTF-8, and the sqlite3 module raised UnicodeDecodeError decoding it.
    "schema text flipped to invalid UTF-8": ("flip", [(4091, 0x80)]),
    "ciphertext stored as a huge integer": ("set", "chunks", "ciphertext", 1, 10**18),
    "seal body stored as text": ("set", "seal", "body", 1, ""),
    "checkpoint signature stored as -1": ("insert", "checkpoints", [-1, b"", -1]),
    "last checkpoint deleted": ("delete", "checkpoints", 1),
    "genesis segment_index not an integer": ("rehash", "genesis", {"segment_index": "x"}),
    "genesis wrapped_dek not hex": ("rehash", "genesis", {"wrapped_dek": "zz"}),
    "genesis kek_id naming a path": ("rehash", "genesis", {"kek_id": "kek:../../x\x00"}),
    "chunk header n not an integer": ("rehash", "chunks.0", {"n": "x"}),
    "chunk header nonce too short": ("rehash", "chunks.0", {"nonce": "00"}),
    "checkpoint tree_size not an integer": ("rehash", "checkpoints.0", {"tree_size": "x"}),
}


@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regression_is_a_failed_report_not_a_crash(sealed: Sealed, name: str) -> None:
    """The concrete input fails verification with a report; the reader raises a project error."""
    mutation = REGRESSIONS[name]
    if mutation[0] == "rehash":  # a partial document: the original with these keys replaced
        mutation = ("rehash", mutation[1], {**sealed.docs[mutation[1]], **mutation[2]})
    with tempfile.TemporaryDirectory(prefix="st-fuzz-") as tmp:
        path = Path(tmp) / sealed.name
        path.write_bytes(sealed.data)
        apply_mutation(path, mutation)
        assert committed_content(path) != sealed.content
        report = verify_paths(
            [path],
            sealed.trust,
            keyring=sealed.keyring,
            decrypt=True,
            tst_verifier=sealed.tst_verifier,
        )
        assert not report.ok and report.first_failure
    check_mutated(sealed, mutation)
