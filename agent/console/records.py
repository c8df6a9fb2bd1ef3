"""Reading the firm's records from the vault for a console page: restore a session by the
versions its receipts record, open it verified for replay, and the shipper that holds act on.

Restoring and opening use the firm home's keyring, which holds the firm key every segment's
data key is wrapped to, so no workstation key is needed.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from agent.console.state import ConsoleState
from agent.errors import UsageError

if TYPE_CHECKING:
    from agent.replay.session import ReplaySession


def _quiet(_: str) -> None:
    """Restore progress lines are for a terminal; the console shows the result instead."""


def restore(st: ConsoleState, session_id: str) -> str:
    """Make ``session_id`` readable in the firm home from the vault; its full id."""
    from agent.ship.restore import restore_for_read

    if not session_id or "/" in session_id or session_id.startswith("."):
        raise UsageError(f"not a session id: {session_id!r}")
    res = restore_for_read(st.home, session_id, st.vault_url(), echo=_quiet)
    return res.session_id if res is not None else session_id


def tsa_roots(st: ConsoleState) -> list[bytes]:
    """The trusted TSA roots of the firm home (``seal.tsa_roots`` and ``trust/tsa/``)."""
    from agent.seal.tsa_roots import tsa_root_paths

    return [p.read_bytes() for p in tsa_root_paths(st.home, st.config.seal.tsa_roots, [])]


def open_replay(st: ConsoleState, session_id: str) -> ReplaySession:
    """The verified session, restored from the vault first."""
    from agent.replay.session import ReplaySession
    from agent.seal.timestamp import tst_verifier

    sid = restore(st, session_id)
    return ReplaySession.open(
        st.home,
        sid,
        tst_verifier=tst_verifier(tsa_roots(st)),
        cache_size=st.config.replay.chunk_cache,
    )


def session_payloads(st: ConsoleState, session_id: str) -> tuple[str, list[dict[str, Any]]]:
    """(full id, every record's payload) of a session, restored from the vault first."""
    from agent.journal.reader import iter_records
    from agent.journal.store import find_session
    from agent.keys import Keyring

    info = find_session(st.home, restore(st, session_id))
    keyring = Keyring.load(st.home)
    out = [r.payload for seg in info.segments for r in iter_records(seg.path, keyring)]
    return info.session_id, out


def shipper(st: ConsoleState) -> Any:
    """The firm home's shipper (its vaults), through which holds are placed and released."""
    from agent.ship.runtime import build_shipper

    return build_shipper(st.home, st.config.ship, config=st.config)


def export_zip(st: ConsoleState, session_id: str, matter: str, reason: str) -> Path:
    """Build the evidence bundle of one session (read from the vault) as a .zip in a new
    private temporary directory (an export never goes inside the home); its path. The
    bundle's ``audit.export`` custody record is written before the bundle is put in place."""
    import tempfile

    from agent.replay.export import export_bundle

    sid = restore(st, session_id)
    out = Path(tempfile.mkdtemp(prefix="sessiontape-console-export-")) / f"{sid}.zip"
    res = export_bundle(
        st.home, st.config, [sid], out, reason=reason, matter=matter, tsa_roots=tsa_roots(st)
    )
    return res.path
