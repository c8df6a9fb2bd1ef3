"""One workstation agent per state directory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.errors import UsageError
from agent.workstation.instance import LOCK_NAME, single_instance

HOLD = """
import sys, time
from pathlib import Path
from agent.workstation.instance import single_instance
with single_instance(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_agent_on_the_same_home_is_refused_naming_the_first(tmp_path: Path) -> None:
    """Another process holds the lock: a usage error with its pid; free again once it dies."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(UsageError) as err, single_instance(tmp_path):
            pass
        assert err.value.message == (
            f"{tmp_path}: another sessiontape agent (pid {holder.pid}) is already recording "
            "from this state directory"
        )
    finally:
        holder.kill()
        holder.wait()
    with single_instance(tmp_path):
        assert (tmp_path / LOCK_NAME).read_text() == str(os.getpid())
