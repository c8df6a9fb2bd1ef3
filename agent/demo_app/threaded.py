"""Run the demo app on its own event loop in a background thread (sync tests, the CLI)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import TracebackType
from typing import Any

from agent.clock import Clock
from agent.demo_app import data
from agent.demo_app.server import DemoApp, start_demo_app


class DemoAppThread:
    """``with DemoAppThread() as app:`` - a running :class:`DemoApp` served from a thread.

    The app's lists (``orders``, ``logins`` ...) are appended by the server thread and may
    be read from the caller's thread.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, **kwargs: Any) -> None:
        self._host = host
        self._port = port
        self._kwargs = kwargs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="demo-app", daemon=True)
        self.app: DemoApp | None = None

    def start(self) -> DemoApp:
        """Start the loop thread and the app; returns the running app."""
        self._thread.start()
        fut = asyncio.run_coroutine_threadsafe(
            start_demo_app(self._host, self._port, **self._kwargs), self._loop
        )
        try:
            self.app = fut.result(timeout=10)
        except BaseException:
            self._shutdown_loop()
            raise
        return self.app

    def stop(self) -> None:
        """Stop the app and the loop thread; safe to call twice."""
        if self.app is not None:
            asyncio.run_coroutine_threadsafe(self.app.stop(), self._loop).result(timeout=10)
            self.app = None
        self._shutdown_loop()

    def _shutdown_loop(self) -> None:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        if not self._loop.is_closed() and not self._loop.is_running():
            self._loop.close()

    def __enter__(self) -> DemoApp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def demo_app_thread(
    *, clock: Clock | None = None, seed: int = data.DEFAULT_SEED, fixtures_dir: Path | None = None
) -> DemoAppThread:
    """A :class:`DemoAppThread` on random loopback ports."""
    return DemoAppThread(clock=clock, seed=seed, fixtures_dir=fixtures_dir)
