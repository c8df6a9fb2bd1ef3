"""``sessiontape mask test``, ``sessiontape reveal``, ``sessiontape token`` and the
``keys escrow-init`` command.

``keys_escrow_init`` is a plain function here; the ``keys`` group (agent/cli/keys.py) mounts it
as ``sessiontape keys escrow-init``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from agent.cli.common import config, home
from agent.errors import UsageError

mask_app = typer.Typer(
    help="Check masking rules against a page.\n\n"
    "Example: sessiontape mask test --url http://127.0.0.1:8080/",
    no_args_is_help=True,
)


def _masker(rules: Path | None) -> object:
    from agent.mask.masker import Masker

    if rules is not None:
        return Masker.load(home(), rules, cache_size=4096)
    return Masker.from_config(config().mask, home())


@mask_app.command("test")
def mask_test(
    url: Annotated[
        str | None, typer.Option("--url", help="Page to load in headless Chromium.")
    ] = None,
    file: Annotated[
        Path | None, typer.Option("--file", help="A saved HTML page instead of --url.")
    ] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Masking rules TOML to try (default: the configured rules)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable report.")] = False,
    executable: Annotated[
        str, typer.Option("--browser", help="Chromium executable.")
    ] = "/usr/lib/chromium/chromium",
) -> None:
    """Show which elements and fields each masking rule hits, with masked previews.

    Example: sessiontape mask test --file saved.html --rules my-masking.toml
    """
    from agent.mask.masker import Masker
    from agent.mask.probe import probe, render

    if (url is None) == (file is None):
        raise UsageError("give exactly one of --url or --file")
    if file is not None:
        if not file.is_file():
            raise UsageError(f"{file}: no such file")
        url = file.resolve().as_uri()
    assert url is not None
    masker = _masker(rules)
    assert isinstance(masker, Masker)
    report = asyncio.run(probe(masker, url, executable=executable))
    typer.echo(report.as_json() if as_json else render(report))


def keys_escrow_init(
    officer: Annotated[str, typer.Option("--officer", help="Name of the compliance officer.")],
    out: Annotated[
        Path,
        typer.Option("--out", help="Directory for the private key PEM (never the agent home)."),
    ] = Path("."),
) -> None:
    """Create an escrow / recipient X25519 key pair: the private key PEM (PKCS#8, 0600) and
    the public key PEM (SubjectPublicKeyInfo) to --out; the public key is also printed, raw
    as base64, for the masking rules file. Either form works for `export --recipient`.

    Example: sessiontape keys escrow-init --officer "J. Smith" --out /media/officer-usb
    """
    from agent.mask.escrow import generate_keypair, key_id
    from agent.mask.keyfile import public_pem

    h = home().resolve()
    target_dir = out.resolve()
    if target_dir == h or h in target_dir.parents:
        raise UsageError(
            f"--out {out} is inside the agent home {h}: the escrow private key "
            "must never be stored where the recording agent runs"
        )
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in officer.strip()) or "officer"
    pem, pub = generate_keypair()
    import base64

    raw = base64.b64decode(pub)
    kid = key_id(raw)
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"escrow-{safe}-{kid}.pem"
    pub_path = target_dir / f"escrow-{safe}-{kid}.pub.pem"
    _write_new(path, pem, 0o600)
    _write_new(pub_path, public_pem(raw), 0o644)
    officer_toml = officer.replace("\\", "\\\\").replace('"', '\\"')
    typer.echo(f"private key (keep offline, 0600): {path}")
    typer.echo(f"public key (PEM, for export --recipient): {pub_path}")
    typer.echo(f"public key: {pub}")
    typer.echo(f"key id: {kid}")
    typer.echo("add to your masking rules file ([mask] rules_file):")
    typer.echo(f'[escrow]\nofficer = "{officer_toml}"\npublic_key = "{pub}"')


def _write_new(path: Path, data: bytes, mode: int) -> None:
    """Create ``path`` (never overwrite) with ``mode``, durably."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise UsageError(f"{path} already exists") from None
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def reveal_cmd(
    session: Annotated[str, typer.Argument(help="Session id (or unique prefix).")],
    token: Annotated[str, typer.Option("--token", help="The esc_... token to reveal.")],
    key: Annotated[Path, typer.Option("--key", help="The officer's escrow private key PEM.")],
    reason: Annotated[
        str,
        typer.Option(
            "--reason", help="Why the value must be revealed (recorded in the access audit)."
        ),
    ],
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="A note recorded beside the revealer's identity (default: $SESSIONTAPE_ACTOR); "
            "the identity itself is always the OS account running the command.",
        ),
    ] = None,
) -> None:
    """Reveal an escrowed value with the officer's private key; the reveal is audited.

    Example: sessiontape reveal 20261126T12 --token esc_3f9a0c1d2e4b5a69 --key o.pem --reason "x"
    """
    from agent.audit import record_access
    from agent.cli.common import config
    from agent.journal.reader import iter_records
    from agent.journal.store import find_session
    from agent.keys import Keyring
    from agent.mask.escrow import load_private_key
    from agent.mask.reveal import reveal

    h = home()
    private_key = load_private_key(key)
    info = find_session(h, session)
    keyring = Keyring.load(h)

    def payloads() -> Iterator[dict[str, Any]]:
        for seg in info.segments:
            for rec in iter_records(seg.path, keyring):
                yield rec.payload

    def audit(rec: dict[str, Any]) -> None:
        record_access(h, config(), "audit.reveal", rec, note=actor)

    value = reveal(
        payloads(),
        session_id=info.session_id,
        token=token,
        private_key=private_key,
        reason=reason,
        audit=audit,
    )
    typer.echo(value)


def token_cmd(
    value: Annotated[
        str,
        typer.Argument(help='The clear value ("-" reads one line from stdin); never recorded.'),
    ],
    rule: Annotated[
        str | None,
        typer.Option("--rule", help="Only this rule's token (default: every rule that applies)."),
    ] = None,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the token is needed (recorded in the audit).")
    ] = "",
    actor: Annotated[
        str | None,
        typer.Option(
            "--actor",
            help="A note recorded beside your identity (default: $SESSIONTAPE_ACTOR).",
        ),
    ] = None,
) -> None:
    """Print the token recordings hold for a known value, to search for it; audited.

    Each line names the rule that masks the value that way. Escrowed values have random
    tokens and redacted ones none: the line says so. The access audit gets an audit.token
    record (who, rule, reason, tokens) before anything is printed; never the value.

    Example: sessiontape token ACCT-4417-2290 --reason "FINRA inquiry 114"
    """
    import sys

    from agent.audit import record_access
    from agent.mask.lookup import AUDIT_KIND, load_lookup, lookup_tokens

    if value == "-":
        value = sys.stdin.readline().rstrip("\n")
    h = home()
    rules, tokenizer = load_lookup(config().mask, h)

    def audit(rec: dict[str, Any]) -> None:
        record_access(h, config(), AUDIT_KIND, rec, note=actor)

    for answer in lookup_tokens(
        rules, tokenizer, value, audit=audit, rule_id=rule, reason=reason, via="token"
    ):
        typer.echo(answer.line())


def register(app: typer.Typer) -> None:
    """Add ``mask``, ``reveal`` and ``token`` to the CLI."""
    app.add_typer(mask_app, name="mask")
    app.command("reveal")(reveal_cmd)
    app.command("token")(token_cmd)
