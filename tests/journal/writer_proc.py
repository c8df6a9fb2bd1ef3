"""A journal writer run as a separate process, killed with SIGKILL by test_crash.py.

Prints ``session <id>`` first, then ``ack <last seq>`` after every append_many returned.
"""

from __future__ import annotations

import sys
from pathlib import Path

from agent.config import load_config
from agent.journal.journal import Journal
from agent.logs import configure_quiet
from agent.testing import make_event


def main() -> None:
    configure_quiet()
    home = Path(sys.argv[1])
    j = Journal.open(home, load_config(env={}))
    print(f"session {j.session_id}", flush=True)
    i = 0
    while True:
        seqs = j.append_many(
            [make_event(payload={"i": i + k, "pad": "p" * 200}) for k in range(20)]
        )
        i += 20
        if i % 200 == 0:
            j.checkpoint_now()
        print(f"ack {seqs[-1]}", flush=True)


if __name__ == "__main__":
    main()
