"""A real export bundle as member bytes, and the mutations an attacker can make to it.

:func:`exported_bundle` records a small session with :mod:`tests.journals` and exports it
with :func:`agent.replay.export.export_bundle`. A bundle is handled as ``{path: bytes}``
(:func:`read_members`); mutations change that mapping (flip bytes of a member, remove one,
add one, replace a JSON member by any JSON) and are written back as a directory or a .zip,
whose bytes can be flipped or truncated too.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

from agent.config import load_config
from agent.keys import Keyring, Signer, TrustStore
from agent.replay.export import export_bundle
from agent.testing import FakeClock
from tests.fuzz.segments import JSON_VALUES, json_bytes, json_variant
from tests.journals import write_scripted_session

Members = dict[str, bytes]


@dataclass(frozen=True)
class Exported:
    """An export bundle's members and what verifying it needs (not shown in failure reports:
    the mutation is)."""

    members: Members = field(repr=False)
    trust: TrustStore = field(repr=False)
    keyring: Keyring = field(repr=False)
    signer: Signer = field(repr=False)
    json_docs: dict[str, Any] = field(repr=False)
    """Every JSON member parsed (manifest, proofs, keys), for structured variants."""

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """Hypothesis prints test arguments: the fixture's bytes would drown the mutation."""
        p.text("Exported(...)")


def exported_bundle(home: Path, out: Path) -> Exported:
    """A two-segment session with a request, a form submission and a tick, exported."""
    keyring = Keyring.load_or_init(home)
    cfg = load_config(env={}, home=home)
    j = write_scripted_session(
        home,
        cfg,
        FakeClock(),
        [
            [
                (
                    "net.request",
                    {"url": "https://x.test/a", "method": "GET", "request_id": "r1"},
                    None,
                ),
                ("input.submit", {"form": "#f", "action": "/go", "method": "POST"}, None),
            ],
            [("clock.tick", {"n": 1}, None)],
        ],
    )
    res = export_bundle(home, cfg, [j.session_id], out, reason="fuzz")
    members = read_members(res.path)
    docs = {}
    for rel, data in members.items():
        if rel.endswith((".json", ".sig")):
            docs[rel] = json.loads(data)
    return Exported(members, keyring.trust(), keyring, keyring.signer(), docs)


def read_members(root: Path) -> Members:
    """Every file of a bundle directory by its bundle path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def write_dir(members: Members, root: Path) -> Path:
    """Write members as a bundle directory."""
    for rel, data in members.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    root.mkdir(parents=True, exist_ok=True)
    return root


def zip_bytes(members: Members) -> bytes:
    """Members as a deflated .zip, as export writes it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, data in members.items():
            z.writestr(rel, data)
    return buf.getvalue()


def unzip_or_none(data: bytes) -> Members | None:
    """The oracle for a mutated .zip: its members, or None when they cannot all be read."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            out: Members = {}
            for info in z.infolist():
                if info.is_dir():
                    continue
                if info.filename in out:
                    return None
                out[info.filename] = z.read(info)
            return out
    except Exception:  # noqa: BLE001 - any failure to read means "changed"
        return None


def signature_of(members: Members) -> Any:
    """What manifest.sig says (key id and signature); its other bytes are not signed."""
    try:
        sig = json.loads(members["manifest.sig"])
        return (sig["key_id"], sig["signature"])
    except Exception:  # noqa: BLE001 - the oracle: unreadable is simply different
        return None


def signed_content(members: Members) -> tuple[Any, ...]:
    """Everything the bundle's signature and hashes cover: members but manifest.sig, and
    the key id and signature it carries."""
    return (
        {k: v for k, v in members.items() if k != "manifest.sig"},
        signature_of(members),
    )


_ADDED = st.sampled_from(
    [
        "extra.txt",
        "native/segments/x/000009-0000000000000000.stj",
        "proofs/x/y.json",
        "manifest.json.bak",
    ]
)


_NAMES = st.text(alphabet="abx._-/", min_size=1, max_size=12).filter(
    lambda n: all(part not in ("", ".", "..") for part in n.split("/"))
)


def member_mutations(ex: Exported) -> st.SearchStrategy[tuple[Any, ...]]:
    """One change to the members, as a tuple naming its kind."""
    names = st.sampled_from(sorted(ex.members))
    json_names = st.sampled_from(sorted(ex.json_docs))
    return st.one_of(
        st.tuples(st.just("flip"), names, st.integers(0, 2**32), st.integers(1, 255)),
        st.tuples(st.just("remove"), names),
        st.tuples(st.just("add"), _ADDED | _NAMES, st.binary(max_size=64)),
        json_names.flatmap(
            lambda n: st.tuples(st.just("json"), st.just(n), json_variant(ex.json_docs[n]))
        ),
        st.tuples(st.just("json"), st.just("manifest.json"), JSON_VALUES),
        st.tuples(
            st.just("resign"),
            json_variant(ex.json_docs["manifest.json"])
            | st.sampled_from(["files", "sessions"]).flatmap(
                lambda key: JSON_VALUES.map(lambda v: {**ex.json_docs["manifest.json"], key: v})
            ),
        ),
    )


def apply_members(ex: Exported, m: tuple[Any, ...]) -> Members:
    """The members after mutation ``m`` (``resign``: a new manifest, validly signed)."""
    out = dict(ex.members)
    kind = m[0]
    if kind == "flip":
        _, name, offset, mask = m
        data = bytearray(out[name])
        if data:
            data[offset % len(data)] ^= mask
        out[name] = bytes(data)
    elif kind == "remove":
        del out[m[1]]
    elif kind == "add":
        out[m[1]] = m[2]
    elif kind == "json":
        out[m[1]] = json_bytes(m[2])
    elif kind == "resign":
        body = json_bytes(m[1])
        out["manifest.json"] = body
        out["manifest.sig"] = json_bytes(
            {"v": 1, "key_id": ex.signer.key_id, "signature": ex.signer.sign(body).hex()}
        )
    return out
