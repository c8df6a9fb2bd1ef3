"""The project's own demo trading app and the scripted trader session that drives it.

``start_demo_app()`` serves a login page, a trading screen (WebSocket blotter, order
ticket, popup confirmation, client lookup, cross-origin widget, polling, a download) on
127.0.0.1; ``run_trader_script()`` drives it with Playwright like a trader would.
"""

from agent.demo_app.data import DEMO_SECRETS, DEMO_USERS
from agent.demo_app.models import LoginAttempt, Lookup, Order
from agent.demo_app.server import DemoApp, running_demo_app, start_demo_app
from agent.demo_app.threaded import DemoAppThread

__all__ = [
    "DEMO_SECRETS",
    "DEMO_USERS",
    "DemoApp",
    "DemoAppThread",
    "LoginAttempt",
    "Lookup",
    "Order",
    "running_demo_app",
    "start_demo_app",
]
