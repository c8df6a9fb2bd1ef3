"""Privilege separation with two real OS accounts: the agent's account owns the state dir;
the recorded trader's account can neither read nor change anything in it, and the agent
refuses a state dir another account owns or could reach."""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.attacks.osusers import OsUser, agent_and_trader, cli_as, env_for, probe_as, run_as
from tests.pipeline.site import serve_page
from tests.waiting import wait_until

__all__ = ["agent_and_trader"]


@pytest.fixture
def base() -> Iterator[Path]:
    """A directory both accounts can traverse (pytest's own tmp dirs are root's, 0700)."""
    d = Path(tempfile.mkdtemp(prefix="st-separation-", dir="/tmp"))
    d.chmod(0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d)


def _agent_state(agent: OsUser, base: Path) -> Path:
    """The agent's state dir, created by the agent's own CLI, with keys, a sealed session,
    the index, the vault spool and logs in it."""
    parent = base / "srv"
    parent.mkdir()
    os.chown(parent, agent.uid, -1)
    state = parent / "sessiontape"
    r = cli_as(agent, state, "keys", "init")
    assert r.returncode == 0, r.stderr
    w = run_as(agent, agent.python, "-m", "tests.attacks.agent_writer", str(state))
    assert w.returncode == 0, w.stderr
    for args in (("index", "update"), ("ship", "--once"), ("verify",)):
        r = cli_as(agent, state, *args)
        assert r.returncode == 0, (args, r.stdout, r.stderr)
    return state


def test_trader_can_neither_read_nor_change_anything_of_the_agents(
    agent_and_trader: tuple[OsUser, OsUser], base: Path
) -> None:
    agent, trader = agent_and_trader
    state = _agent_state(agent, base)
    files = sorted(p for p in state.rglob("*") if p.is_file())
    dirs = sorted([state, *(p for p in state.rglob("*") if p.is_dir())])
    names = {p.relative_to(state).parts[0] for p in files}
    assert {"keys", "journals", "index.db", "vault", "logs"} <= names, names
    assert any(p.suffix == ".pem" for p in files) and any(p.suffix == ".key" for p in files)
    assert any(p.suffix == ".stj" for p in files)
    assert any(p.name == "spool" for p in dirs)  # emptied after each upload; probed as a dir
    for p in files + dirs:  # everything is the agent's, and the agent's alone
        st = p.stat()
        assert st.st_uid == agent.uid, p
        want = 0o700 if p.is_dir() else 0o600
        if "vault" in p.relative_to(state).parts and p.is_file():
            want = 0o444  # the file vault's WORM stand-in marks objects read-only itself
        assert stat.S_IMODE(st.st_mode) == want, p
    results = probe_as(trader, [str(p) for p in files], [str(p) for p in dirs])
    assert len(results) == 4 * len(files) + 5 * len(dirs)
    allowed = [r for r in results if r[2] not in ("EACCES", "EPERM")]
    assert allowed == []
    assert {p for p in state.rglob("*")} == set(files) | set(dirs[1:])  # nothing planted
    r = cli_as(trader, state, "verify")  # the trader's own sessiontape gets no further
    assert r.returncode == 2
    assert f"Invalid value for '--home': path '{state}' is not readable." in r.stderr


def test_agent_refuses_a_state_dir_others_can_reach_or_own(
    agent_and_trader: tuple[OsUser, OsUser], base: Path
) -> None:
    agent, trader = agent_and_trader
    state = base / "state"
    r = cli_as(agent, base / "own" / "state", "keys", "list")
    assert r.returncode == 2  # the agent cannot create its home in a directory it does not own
    state.mkdir(mode=0o700)
    os.chown(state, agent.uid, -1)
    assert cli_as(agent, state, "keys", "init").returncode == 0
    for mode in (0o750, 0o705, 0o770):
        state.chmod(mode)
        r = cli_as(agent, state, "keys", "list")
        assert (r.returncode, r.stderr) == (
            2,
            f"sessiontape: error: {state}: the state directory has mode {mode:04o}; other "
            f"users can reach it (need 0700: chmod 700 {state})\n",
        )
    state.chmod(0o755)  # the trader made the agent's home beforehand: he owns it
    os.chown(state, trader.uid, -1)
    r = cli_as(agent, state, "keys", "list")
    assert (r.returncode, r.stderr) == (
        2,
        f"sessiontape: error: {state}: the state directory is owned by uid {trader.uid}, "
        f"not by the running user (uid {agent.uid})\n",
    )


TRADER_PROBE = r"""
import errno, os, signal, sys
out = []
for pid in map(int, sys.argv[1:]):
    for what, fn in (
        ("signal", lambda: os.kill(pid, signal.SIGKILL)),
        ("fds", lambda: os.listdir(f"/proc/{pid}/fd")),
        ("environ", lambda: open(f"/proc/{pid}/environ", "rb").read()),
        ("mem", lambda: open(f"/proc/{pid}/mem", "rb").read(1)),
    ):
        try:
            fn()
            out.append(f"{pid} {what} ALLOWED")
        except OSError as exc:
            out.append(f"{pid} {what} {errno.errorcode.get(exc.errno, exc.errno)}")
print("\n".join(out))
"""


def _pids_of(agent: OsUser, program: bytes) -> list[int]:
    """Processes running as the agent's account whose command line contains ``program``."""
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                owned = p.stat().st_uid == agent.uid
                cmd = (p / "cmdline").read_bytes()
            except OSError:
                continue
            if owned and program in cmd:
                pids.append(int(p.name))
    return pids


def test_the_trader_cannot_touch_a_browser_the_agents_account_records(
    agent_and_trader: tuple[OsUser, OsUser], base: Path, tmp_path: Path
) -> None:
    """A real recording as the agent's account: the trader's account can neither signal the
    recorded browser nor read its descriptors, environment or memory; the session the agent
    sealed verifies."""
    agent, trader = agent_and_trader
    parent = base / "srv"
    parent.mkdir()
    os.chown(parent, agent.uid, -1)
    state = parent / "sessiontape"
    assert cli_as(agent, state, "keys", "init").returncode == 0
    page = b"<!doctype html><title>Blotter</title><p>AAPL 187.25</p>"
    with serve_page(tmp_path, page) as url:
        cmd = ["runuser", "-u", agent.name, "--", agent.python, "-m", "agent.cli.main"]
        cmd += ["--home", str(state), "record", url, "--headless", "--duration", "120"]
        env = {**env_for(agent), "SESSIONTAPE_CAPTURE_NO_SANDBOX": "true"}
        rec = subprocess.Popen(
            cmd, env=env, cwd="/", stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        try:
            pids = wait_until(
                lambda: _pids_of(agent, b"chromium"), what="the agent's browser", timeout_s=60
            )
            probe = run_as(trader, trader.python, "-c", TRADER_PROBE, *map(str, pids))
            lines = probe.stdout.strip().split("\n")
            assert len(lines) == 4 * len(pids), probe.stderr
            assert [ln for ln in lines if ln.rsplit(" ", 1)[1] not in ("EPERM", "EACCES")] == []
        finally:
            # Ctrl-C to the recorder itself (runuser does not pass SIGINT on): it stops cleanly.
            for pid in _pids_of(agent, b"agent.cli.main"):
                os.kill(pid, signal.SIGINT)
            try:
                out, err = rec.communicate(timeout=120)
            finally:
                for pid in _pids_of(agent, b""):  # never leave the account's processes behind
                    os.kill(pid, signal.SIGKILL)
    assert rec.returncode == 0, err.decode()
    assert len(list((state / "journals").glob("*/*.stj"))) == 1
    r = cli_as(agent, state, "verify")
    assert r.returncode == 0, r.stdout + r.stderr
