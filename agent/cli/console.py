"""``sessiontape console serve``, ``console user add | list | disable | unlock``, ``console
review …`` and ``console ingest``: the firm's compliance console, its local accounts, its review
queue and its ingestion worker (run in the firm home)."""

from __future__ import annotations

import contextlib
import sys

import typer

from agent.cli.common import config, home
from agent.errors import UsageError

console_app = typer.Typer(
    help="The compliance console: a web application over the firm's vault.\n\n"
    "Example: sessiontape --home /srv/firm console serve",
    no_args_is_help=True,
)
user_app = typer.Typer(
    help="Local console accounts (argon2 password hashes in <home>/console/console.db).\n\n"
    "Example: sessiontape console user add alice --role supervisor",
    no_args_is_help=True,
)


@console_app.command("serve")
def serve_cmd(
    listen: str | None = typer.Option(
        None, "--listen", help="HOST:PORT (default: console.listen, 127.0.0.1:8600)."
    ),
    tls_cert: str | None = typer.Option(None, "--tls-cert", help="PEM certificate (HTTPS)."),
    tls_key: str | None = typer.Option(None, "--tls-key", help="PEM private key (HTTPS)."),
) -> None:
    """Serve the console for this firm home until Ctrl-C. Anything but a loopback address
    needs --tls-cert and --tls-key (exit 2 otherwise).

    Example: sessiontape console serve --listen 0.0.0.0:8443 --tls-cert c.pem --tls-key k.pem
    """
    from agent.console.serve import parse_listen, serve

    c = config().console
    cert, key = tls_cert or c.tls_cert, tls_key or c.tls_key
    where = parse_listen(listen or c.listen, cert, key)
    h = home()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the normal way to stop
        serve(h, config(), where, tls_cert=cert, tls_key=key, on_ready=typer.echo)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def _audit(action: str, payload: dict[str, object]) -> None:
    """The ``audit.user`` record of an account change made here (the OS account acts)."""
    from agent.audit import record_access

    record_access(home(), config(), "audit.user", {"action": action, **payload, "via": "cli"})


@user_app.command("add")
def user_add(
    name: str = typer.Argument(..., help="Account name (letters, digits, . _ -)."),
    role: list[str] = typer.Option(
        [], "--role", help="reviewer, supervisor, examiner or admin (repeat)."
    ),
    expires: str | None = typer.Option(
        None, "--expires", help="Last day of access, YYYY-MM-DD (UTC); required for examiner."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Add a local account; the password is prompted for (or read from stdin), never a flag.

    Example: sessiontape console user add sec-exam --role examiner --expires 2026-12-31
    """
    from agent.console.accounts import check_roles, expiry_ns, open_store

    until = expiry_ns(expires) if expires else None
    roles = check_roles(role, until)
    store = open_store(home())
    try:
        if any(u.name == name for u in store.users()):
            raise UsageError(f"account {name!r} exists already")
        password = _password(password_stdin)
        _audit("add", {"account": name, "roles": list(roles), "expires": expires or ""})
        from agent.clock import SystemClock

        store.add_user(name, password, roles, until, SystemClock().utc_ns())
    finally:
        store.close()
    typer.echo(f"added {name} ({', '.join(roles)})" + (f", expires {expires}" if expires else ""))


@user_app.command("list")
def user_list() -> None:
    """List local accounts: roles, expiry, disabled or locked.

    Example: sessiontape console user list
    """
    from agent.clock import SystemClock, utc_iso
    from agent.console.accounts import open_store

    store = open_store(home())
    now = SystemClock().utc_ns()
    try:
        users = store.users()
    finally:
        store.close()
    for u in users:
        state = "disabled" if u.disabled else "active"
        if u.locked_until_ns and u.locked_until_ns > now:
            state = f"locked until {utc_iso(u.locked_until_ns)[:19]}Z"
        until = f"  expires {utc_iso(u.expires_ns)[:19]}Z" if u.expires_ns else ""
        typer.echo(f"{u.name:<20} {','.join(u.roles):<28} {state}{until}")
    if not users:
        typer.echo("no accounts")


def _change(name: str, action: str) -> None:
    from agent.console.accounts import open_store

    store = open_store(home())
    try:
        store.user(name)
        _audit(action, {"account": name})
        if action == "disable":
            store.set_disabled(name, True)
        else:
            store.unlock(name)
    finally:
        store.close()
    typer.echo(f"{name}: {'disabled' if action == 'disable' else 'unlocked'}")


@user_app.command("disable")
def user_disable(name: str = typer.Argument(..., help="Account name.")) -> None:
    """Disable an account (its sessions end at once).

    Example: sessiontape console user disable alice
    """
    _change(name, "disable")


@user_app.command("unlock")
def user_unlock(name: str = typer.Argument(..., help="Account name.")) -> None:
    """Unlock an account locked by failed sign-ins.

    Example: sessiontape console user unlock alice
    """
    _change(name, "unlock")


def register(app: typer.Typer) -> None:
    """Add the ``console`` sub-app."""
    console_app.add_typer(user_app, name="user")
    from agent.cli.console_review import review_app

    console_app.add_typer(review_app, name="review")
    from agent.cli.console_ingest import ingest, ingest_status

    console_app.command("ingest")(ingest)
    console_app.command("ingest-status")(ingest_status)
    app.add_typer(console_app, name="console")
