"""``sessiontape keys ...``: create, rotate, list and trust keys."""

from __future__ import annotations

from pathlib import Path

import typer

from agent.cli.common import config, echo_json, flag_override, home
from agent.errors import KeyMaterialError, UsageError
from agent.keys import Keyring, signing_key_id

keys_app = typer.Typer(
    help="Manage signing keys, key-encryption keys and the trust store.\n\n"
    "Example: sessiontape keys init",
    no_args_is_help=True,
)


@keys_app.command("init")
def keys_init() -> None:
    """Create the agent's Ed25519 signing key and KEK if missing, in the configured backend
    ([seal.keys]: 0600 files, or non-exportable in a PKCS#11 token); print fingerprints.

    Example: sessiontape --home /tmp/st keys init
    """
    kr = Keyring.load(home())
    created = kr.init()
    signer = kr.signer()
    typer.echo(("created" if created else "exists") + f": signing key {signer.key_id}")
    typer.echo(f"public key (hex): {signer.public_raw.hex()}")
    typer.echo(f"key-encryption key: {kr.current_kek_id()}")
    typer.echo(f"backend: {kr.store.describe()}")
    typer.echo(f"keys directory: {kr.dir}")


@keys_app.command("rotate")
def keys_rotate(kek: bool = typer.Option(False, "--kek", help="Rotate the KEK instead.")) -> None:
    """Create a new signing key (or KEK); old keys stay so old journals still verify/decrypt.

    Example: sessiontape keys rotate --kek
    """
    kr = Keyring.load(home())
    kid = kr.rotate_kek() if kek else kr.rotate_signing()
    typer.echo(f"new current {'KEK' if kek else 'signing key'}: {kid}")


@keys_app.command("list")
def keys_list(as_json: bool = typer.Option(False, "--json")) -> None:
    """List the key backend and key ids: signing keys, KEKs, firm recipients configured
    ([seal.firm]), firm private keys held ([seal.firm_keys]) and trusted public keys.

    Example: sessiontape keys list --json
    """
    from agent.keystore.firmwrap import load_recipients

    kr = Keyring.load(home())
    recipients = [r.kid for r in load_recipients(config().seal.firm.recipients)]
    data = {"firm_recipients": recipients, **kr.list_keys()}
    if as_json:
        echo_json({"backend": kr.store.describe(), **data})
        return
    typer.echo(f"backend: {kr.store.describe()}")
    for kind, ids in data.items():
        typer.echo(f"{kind}: " + (", ".join(ids) if ids else "(none)"))


@keys_app.command("firm-init")
def keys_firm_init(
    backend: str | None = typer.Option(
        None,
        "--backend",
        help="file, pkcs11 or kms (default: [seal.firm_keys] backend); pkcs11/kms settings "
        "come from [seal.firm_keys].",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Where to write the public key PEM (default: <home>/firm-<id>.pem)."
    ),
) -> None:
    """Create a firm key pair in this home's firm key store and print what to distribute:
    the public key PEM that every workstation lists in [seal.firm] recipients.

    Example: sessiontape --home /srv/firm keys firm-init --out /srv/firm/firm-primary.pem
    """
    from agent.keys import open_firm_store
    from agent.keystore.firmwrap import firm_key_id, public_pem

    settings = config().seal.firm_keys
    if backend is not None:
        if backend not in ("file", "pkcs11", "kms"):
            raise UsageError(f"--backend {backend!r}: choose file, pkcs11 or kms")
        update = {**settings.model_dump(), "backend": backend}
        settings = flag_override("seal.firm_keys", update, "--backend").seal.firm_keys
    store = open_firm_store(home() / "keys", settings)
    try:
        pub = store.new_key()
    finally:
        store.close()
    kid = firm_key_id(pub)
    path = out or home() / f"firm-{kid.split(':')[1]}.pem"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(public_pem(pub))
    path.chmod(0o644)
    typer.echo(f"created firm key {kid} ({store.describe()})")
    typer.echo(f"public key: {path}")
    # The firm home signs what it produces itself: export bundles and its access audit.
    signer = Keyring.load_or_init(home(), config().seal.keys).signer()
    typer.echo(f"this home signs its exports and audit records with {signer.key_id}")
    typer.echo("distribute the public key to every workstation and add it to its config:")
    typer.echo("[seal.firm]")
    typer.echo(f'recipients = ["/etc/sessiontape/{path.name}"]')
    typer.echo(
        "keep a second recipient (disaster recovery) or a backup of this private key: "
        "records wrapped only to it are unreadable without it"
    )


@keys_app.command("export-public")
def keys_export_public(
    out: Path = typer.Argument(..., help="Directory to write <id>.pub to."),
) -> None:
    """Write every trusted public key to DIR (a trust store for offline `verify --trust`).

    Example: sessiontape keys export-public /media/usb/trust
    """
    ts = Keyring.load(home()).trust()
    if not ts.keys:
        raise KeyMaterialError(f"no keys in {home() / 'keys'} (run `sessiontape keys init`)")
    out.mkdir(parents=True, exist_ok=True)
    from cryptography.hazmat.primitives import serialization

    for kid, pub in ts.keys.items():
        raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        (out / f"{kid.split(':')[1]}.pub").write_text(raw.hex())
    typer.echo(f"wrote {len(ts.keys)} public keys to {out}")


@keys_app.command("trust")
def keys_trust(
    pubfile: Path = typer.Argument(..., help="Public key file (hex or raw 32 bytes)."),
) -> None:
    """Add another agent's public key to this home's trust store.

    Example: sessiontape keys trust other-agent.pub
    """
    if not pubfile.is_file():
        raise KeyMaterialError(f"{pubfile}: no such file")
    data = pubfile.read_bytes().strip()
    try:
        raw = bytes.fromhex(data.decode()) if len(data) == 64 else data
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        Ed25519PublicKey.from_public_bytes(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise KeyMaterialError(f"{pubfile}: not an Ed25519 public key") from exc
    d = home() / "keys" / "trusted"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    kid = signing_key_id(raw)
    (d / f"{kid.split(':')[1]}.pub").write_text(raw.hex())
    typer.echo(f"trusted {kid}")


def register(app: typer.Typer) -> None:
    """Add the ``keys`` group."""
    from agent.cli.mask import keys_escrow_init

    keys_app.command("escrow-init")(keys_escrow_init)
    app.add_typer(keys_app, name="keys")
