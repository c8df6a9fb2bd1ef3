"""Fuzzing the bundle verifier with mutated copies of a real export (directory and .zip).

The property, for any mutation (:mod:`tests.fuzz.bundles`): :func:`verify_bundle` returns a
report or raises an error of the project's tree, nothing else; and when what the signature
and hashes cover changed (any member but ``manifest.sig``, or the key id and signature that
file carries), the report does not pass. A manifest re-signed by the trusted key (a buggy or
compromised exporter) may say anything: the verifier must still not crash on it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from agent.errors import SessiontapeError
from agent.replay.bundle_verify import BundleReport, is_bundle, verify_bundle
from tests.fuzz.bundles import (
    Exported,
    Members,
    apply_members,
    exported_bundle,
    member_mutations,
    signed_content,
    unzip_or_none,
    write_dir,
    zip_bytes,
)
from tests.fuzz.profiles import budget


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Exported:
    tmp = tmp_path_factory.mktemp("fuzz-bundle")
    return exported_bundle(tmp / "home", tmp / "bundle")


def _verify(ex: Exported, path: Path) -> BundleReport | None:
    try:
        return verify_bundle(path, ex.trust, keyring=ex.keyring)
    except SessiontapeError:
        return None


def check_dir(ex: Exported, members: Members, *, resigned: bool) -> None:
    """The property for a bundle directory holding ``members``."""
    with tempfile.TemporaryDirectory(prefix="st-fuzz-") as tmp:
        try:
            root = write_dir(members, Path(tmp) / "bundle")
        except OSError:  # a name the file system refuses (a file where a directory is)
            assume(False)
            return
        rep = _verify(ex, root)
    if not resigned and signed_content(members) != signed_content(ex.members):
        assert rep is None or not rep.ok, rep.as_dict()


def check_zip(ex: Exported, data: bytes, *, resigned: bool) -> None:
    """The property for a .zip bundle of bytes ``data``."""
    with tempfile.TemporaryDirectory(prefix="st-fuzz-") as tmp:
        path = Path(tmp) / "bundle.zip"
        path.write_bytes(data)
        members = unzip_or_none(data)
        # Never raises; a readable .zip is a bundle exactly when it has a manifest. (A damaged
        # one counts as a bundle while zipfile still recognises it as a .zip, so that verifying
        # it reports the damage; bytes that are no .zip at all are read as a segment.)
        found = is_bundle(path)
        if members is not None:
            assert found == ("manifest.json" in members)
        rep = _verify(ex, path)
    changed = members is None or signed_content(members) != signed_content(ex.members)
    if not resigned and changed:
        assert rep is None or not rep.ok, rep.as_dict()


def test_untouched_bundle_verifies_as_directory_and_zip(exported: Exported) -> None:
    """The baseline: the export passes both ways, derived files re-derived with the keys."""
    with tempfile.TemporaryDirectory() as tmp:
        root = write_dir(exported.members, Path(tmp) / "b")
        rep = verify_bundle(root, exported.trust, keyring=exported.keyring)
        assert rep.ok and rep.derived_checked, rep.first_failure
        z = Path(tmp) / "b.zip"
        z.write_bytes(zip_bytes(exported.members))
        assert verify_bundle(z, exported.trust, keyring=exported.keyring).ok


@budget(60)
@given(st.data())
def test_mutated_bundle_directory_fails_or_is_unchanged(
    exported: Exported, data: st.DataObject
) -> None:
    """Flipped, removed, added or rewritten members of a bundle directory."""
    m = data.draw(member_mutations(exported), label="mutation")
    check_dir(exported, apply_members(exported, m), resigned=m[0] == "resign")


_zip_edits = st.one_of(
    st.tuples(
        st.just("flips"),
        st.lists(st.tuples(st.integers(0, 2**32), st.integers(1, 255)), min_size=1, max_size=3),
    ),
    st.tuples(st.just("truncate"), st.integers(0, 2**32)),
    st.tuples(st.just("none")),
)


def _edit_zip(data: bytes, edit: tuple[Any, ...]) -> bytes:
    if edit[0] == "flips":
        b = bytearray(data)
        for offset, mask in edit[1]:
            b[offset % len(b)] ^= mask
        return bytes(b)
    if edit[0] == "truncate":
        return data[: edit[1] % len(data)]
    return data


@budget(60)
@given(st.data())
def test_mutated_bundle_zip_fails_or_is_unchanged(exported: Exported, data: st.DataObject) -> None:
    """A .zip of mutated members, then its own bytes flipped or truncated."""
    m = data.draw(member_mutations(exported) | st.just(("none",)), label="mutation")
    edit = data.draw(_zip_edits, label="zip edit")
    members = apply_members(exported, m) if m[0] != "none" else dict(exported.members)
    check_zip(exported, _edit_zip(zip_bytes(members), edit), resigned=m[0] == "resign")


# Regressions the property found: each crashed verify_bundle (AttributeError, TypeError,
# FileNotFoundError, zlib.error) before the fix.


def _proof_member(ex: Exported) -> str:
    return next(n for n in sorted(ex.members) if n.startswith("proofs/"))


DIR_REGRESSIONS: dict[str, Any] = {
    "proof entry that is not an object": lambda ex: ("json", _proof_member(ex), {"chunks": [None]}),
    "proof file that is a list": lambda ex: ("json", _proof_member(ex), []),
    "events.jsonl removed": lambda ex: ("remove", "native/events.jsonl"),
    "signed manifest whose files is a list": lambda ex: (
        "resign",
        {**ex.json_docs["manifest.json"], "files": []},
    ),
}


@pytest.mark.parametrize("name", sorted(DIR_REGRESSIONS))
def test_regression_bundle_directory_is_a_failed_report(exported: Exported, name: str) -> None:
    """The concrete input is a report with a failed check, not an exception."""
    m = DIR_REGRESSIONS[name](exported)
    members = apply_members(exported, m)
    with tempfile.TemporaryDirectory(prefix="st-fuzz-") as tmp:
        rep = verify_bundle(
            write_dir(members, Path(tmp) / "b"), exported.trust, keyring=exported.keyring
        )
    assert not rep.ok and rep.first_failure


def test_regression_signed_manifest_with_odd_sessions_still_rederives(exported: Exported) -> None:
    """A signed manifest whose sessions are not objects (TypeError before): the sessions only
    order the events, so the derived files are still re-derived and compared."""
    m = ("resign", {**exported.json_docs["manifest.json"], "sessions": [1]})
    with tempfile.TemporaryDirectory(prefix="st-fuzz-") as tmp:
        root = write_dir(apply_members(exported, m), Path(tmp) / "b")
        rep = verify_bundle(root, exported.trust, keyring=exported.keyring)
    assert rep.derived_checked
    assert [c.ok for c in rep.checks if c.name == "derived"] == [True]


@pytest.mark.parametrize("offset,mask", [(63, 2), (310, 1)])
def test_regression_corrupt_deflate_stream_is_a_failed_files_check(
    exported: Exported, offset: int, mask: int
) -> None:
    """A flipped bit inside a deflated member (zlib.error before) fails ``files``."""
    data = bytearray(zip_bytes(exported.members))
    data[offset] ^= mask
    assert unzip_or_none(bytes(data)) is None
    with tempfile.TemporaryDirectory(prefix="st-fuzz-") as tmp:
        path = Path(tmp) / "b.zip"
        path.write_bytes(bytes(data))
        assert is_bundle(path)
        rep = verify_bundle(path, exported.trust, keyring=exported.keyring)
    assert not rep.ok and rep.checks[0].name == "files" and "damaged zip" in rep.checks[0].detail
