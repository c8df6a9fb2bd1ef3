"""``python -m agent.demo_app [--port N] [--widget-port M]``: serve the demo app until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path

from agent.demo_app.data import DEMO_SECRETS
from agent.demo_app.server import running_demo_app


async def _serve(port: int, widget_port: int, fixtures: Path | None) -> None:
    async with running_demo_app(port=port, widget_port=widget_port, fixtures_dir=fixtures) as app:
        print(f"demo app:   {app.url}  (user {DEMO_SECRETS['username']}, password in DEMO_SECRETS)")
        print(f"widget:     {app.widget_url}")
        if fixtures is not None:
            print(f"fixtures:   {app.url}fixtures/")
        await asyncio.Event().wait()


def main() -> None:
    """Parse the command line and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m agent.demo_app",
        description="Serve the sessiontape demo trading app.",
        epilog="Example: python -m agent.demo_app --port 8451 --fixtures ./pages",
    )
    parser.add_argument("--port", type=int, default=0, help="app port (0: any free port)")
    parser.add_argument("--widget-port", type=int, default=0, help="widget port (0: any)")
    parser.add_argument(
        "--fixtures", type=Path, default=None, help="directory served at /fixtures/"
    )
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.port, args.widget_port, args.fixtures))


if __name__ == "__main__":
    main()
