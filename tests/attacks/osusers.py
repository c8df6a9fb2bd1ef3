"""Real OS accounts for the privilege-separation tests, and running commands as them."""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import secrets
import site
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class OsUser:
    """A system account created for one test."""

    name: str
    uid: int
    python: str  # an interpreter this account may execute
    pythonpath: str  # this checkout and the venv's packages, as this account reaches them


def _env(pythonpath: str) -> dict[str, str]:
    return {
        "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
        "PYTHONPATH": pythonpath,
        "PYTHONDONTWRITEBYTECODE": "1",
        "LANG": "C.UTF-8",
    }


def env_for(user: OsUser) -> dict[str, str]:
    """The environment commands run with as ``user``: this checkout and the venv's packages."""
    return _env(user.pythonpath)


def run_as(user: OsUser, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """``args`` run by ``user`` (runuser), with this checkout and the venv's packages."""
    return subprocess.run(
        ["runuser", "-u", user.name, "--", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=_env(user.pythonpath),
        cwd="/",
        timeout=300,
    )


def cli_as(user: OsUser, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``sessiontape --home HOME ARGS`` as ``user``; a traceback never comes out."""
    p = run_as(user, user.python, "-m", "agent.cli.main", "--home", str(home), *args)
    assert "Traceback" not in p.stderr, p.stderr
    return p


@contextlib.contextmanager
def code_mounts() -> Iterator[str]:
    """This checkout and the venv's packages bind-mounted under a fresh 0755 directory, as a
    PYTHONPATH: where the checkout lives (a 0700 /root or mktemp directory) must not stop the
    test accounts before the agent's own permissions are what is tested."""
    base = Path(tempfile.mkdtemp(prefix="st-code-"))
    base.chmod(0o755)
    mounted: list[Path] = []
    try:
        for i, src in enumerate([str(ROOT), *site.getsitepackages()]):
            dst = base / str(i)
            dst.mkdir(mode=0o755)
            subprocess.run(["mount", "--bind", src, str(dst)], check=True, capture_output=True)
            mounted.append(dst)
        yield os.pathsep.join(str(m) for m in mounted)
    finally:
        for m in reversed(mounted):
            subprocess.run(["umount", str(m)], check=True, capture_output=True)
        for d in base.iterdir():  # empty mount points only: never a tree removal here
            d.rmdir()
        base.rmdir()


def python_for(name: str, pythonpath: str) -> str | None:
    """This interpreter if ``name`` may execute it (it may live under a 0700 /root), else the
    system python3 of the same version (the venv's wheels are for this version)."""
    want = f"{sys.version_info.major}.{sys.version_info.minor}"
    for py in (sys.executable, f"/usr/bin/python{want}"):
        probe = ["runuser", "-u", name, "--", py, "-c", "import sys, agent.cli.main, pkcs11;"]
        probe[-1] += " print('%d.%d' % sys.version_info[:2])"
        p = subprocess.run(probe, capture_output=True, text=True, env=_env(pythonpath), cwd="/")
        if p.returncode == 0 and p.stdout.strip() == want:
            return py
    return None


def _create(role: str) -> OsUser:
    name = f"st{role}{secrets.token_hex(3)}"
    subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--shell", "/usr/sbin/nologin"]
        + [name],
        check=True,
        capture_output=True,
    )
    return OsUser(name, pwd.getpwnam(name).pw_uid, "", "")


def _delete(user: OsUser) -> None:
    # Every command run as the account was waited for (subprocess.run), so none is left.
    subprocess.run(["userdel", user.name], check=True, capture_output=True)


@pytest.fixture
def agent_and_trader() -> Iterator[tuple[OsUser, OsUser]]:
    """Two fresh accounts: the agent's (``sessiontape``'s role) and the recorded trader's."""
    if os.geteuid() != 0:
        pytest.skip("creating OS accounts needs root")
    made: list[OsUser] = []
    try:
        with code_mounts() as pythonpath:
            for role in ("agent", "trader"):
                made.append(_create(role))
            for u in made:
                py = python_for(u.name, pythonpath)
                if py is None:
                    pytest.skip(f"no Python {sys.version_info[:2]} that {u.name} may execute")
                u.python, u.pythonpath = py, pythonpath
            try:
                yield made[0], made[1]
            finally:  # a test that failed midway may leave a recorder running in the mounts
                for u in made:
                    _kill_processes(u)
    finally:
        for u in made:
            _delete(u)


def _kill_processes(user: OsUser) -> None:
    """SIGKILL every process of ``user`` and wait until none is left."""

    def alive() -> list[int]:
        pids = []
        for p in Path("/proc").iterdir():
            try:
                if p.name.isdigit() and p.stat().st_uid == user.uid:
                    state = (p / "stat").read_text().rsplit(")", 1)[1].split()[0]
                    if state != "Z":  # a zombie holds nothing; reaping it is its parent's job
                        pids.append(int(p.name))
            except OSError:
                continue
        return pids

    for pid in alive():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    wait_until(lambda: not alive(), what=f"the processes of {user.name} to end", timeout_s=30)


PROBE = r"""
import errno, json, os, sys
out = []
def attempt(what, path, fn):
    try:
        fn()
        out.append([what, path, "succeeded"])
    except OSError as exc:
        out.append([what, path, errno.errorcode.get(exc.errno, str(exc.errno))])
todo = json.load(sys.stdin)
for path in todo["files"]:
    attempt("read", path, lambda: open(path, "rb").read(1))
    attempt("write", path, lambda: open(path, "ab").write(b"x"))
    attempt("delete", path, lambda: os.unlink(path))
    attempt("rename", path, lambda: os.rename(path, path + ".gone"))
for path in todo["dirs"]:
    attempt("list", path, lambda: os.listdir(path))
    attempt("create", path, lambda: open(os.path.join(path, "planted"), "xb").close())
    attempt("mkdir", path, lambda: os.mkdir(os.path.join(path, "planted.d")))
    attempt("rmdir", path, lambda: os.rmdir(path))
    attempt("chmod", path, lambda: os.chmod(path, 0o777))
print(json.dumps(out))
"""


def probe_as(user: OsUser, files: list[str], dirs: list[str]) -> list[list[str]]:
    """Every read/write/delete/rename of ``files``, then list/create/mkdir/rmdir/chmod of
    ``dirs``, attempted by ``user``: [what, path, "succeeded" or the errno name]."""
    p = run_as(user, user.python, "-c", PROBE, stdin=json.dumps({"files": files, "dirs": dirs}))
    assert p.returncode == 0, p.stderr
    results: list[list[str]] = json.loads(p.stdout)
    return results
