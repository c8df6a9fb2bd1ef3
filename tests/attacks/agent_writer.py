"""Write a real sealed session into a state dir, as the agent would (its umask, its journal).

Run as the agent's OS account by the separation test:
``python -m tests.attacks.agent_writer HOME`` prints the session id.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from agent.cli.main import PRIVATE_UMASK
from agent.config import load_config
from agent.testing import FakeClock
from tests.journals import write_session


def main(argv: list[str]) -> None:
    os.umask(PRIVATE_UMASK)
    home = Path(argv[0])
    j = write_session(home, load_config(env={}, home=home), FakeClock(), segments=2)
    print(j.session_id)


if __name__ == "__main__":
    main(sys.argv[1:])
