"""What a kiosk may do: the allowlist, downloads, printing, and the Chromium flags for it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from agent.errors import ConfigError
from agent.kiosk.allowlist import SCOPES, Allowlist, Pattern, Scope, SubresourcePolicy

Downloads = Literal["deny", "allow"]
Printing = Literal["dialog", "silent"]
ServiceWorkers = Literal["gated", "block"]

# Flags that make a headful Chromium a kiosk; each is checked by the kiosk tests.
# --kiosk: one fullscreen window without tab strip, address bar or menus (F11 cannot leave it).
KIOSK_ARGS = ("--kiosk",)
# --kiosk-printing: window.print() and Ctrl+P print at once to the default printer, no dialog.
SILENT_PRINTING_ARGS = ("--kiosk-printing",)
# What the allowlist does not allow goes to a proxy that cannot exist (a reserved ``.invalid``
# name: nothing resolves it, so nothing is sent and no DNS name of the target is looked up):
# the browser's own network stack refuses it. This is what stops WebSocket handshakes, which
# never reach ``Fetch``; everything else is refused by ``Fetch`` before it gets here.
DEAD_PROXY = "blocked.sessiontape-kiosk.invalid:9"


@dataclass(frozen=True)
class KioskPolicy:
    """Everything the kiosk enforcement needs; build it with :meth:`build`."""

    allowlist: Allowlist
    start_url: str
    downloads: Downloads = "deny"
    printing: Printing = "dialog"
    service_workers: ServiceWorkers = "gated"
    brand: str = ""
    extra_args: tuple[str, ...] = field(default=())

    @classmethod
    def build(
        cls,
        start_url: str,
        allow: Iterable[str],
        *,
        scopes: Iterable[Scope] = SCOPES,
        subresources: SubresourcePolicy = "allowlist",
        downloads: Downloads = "deny",
        printing: Printing = "dialog",
        service_workers: ServiceWorkers = "gated",
        brand: str = "",
    ) -> KioskPolicy:
        """A policy whose start page must itself be allowed (else a one-line ``ConfigError``)."""
        allowlist = Allowlist(allow, scopes=scopes, subresources=subresources)
        if not allowlist.decide(start_url, "top").allowed:
            raise ConfigError(f"kiosk start URL {start_url!r} is not in the allowlist")
        if downloads not in ("deny", "allow"):
            raise ConfigError(f"kiosk downloads {downloads!r}: expected deny or allow")
        if printing not in ("dialog", "silent"):
            raise ConfigError(f"kiosk printing {printing!r}: expected dialog or silent")
        if service_workers not in ("gated", "block"):
            raise ConfigError(f"kiosk service_workers {service_workers!r}: expected gated or block")
        return cls(allowlist, start_url, downloads, printing, service_workers, brand)


def kiosk_args(policy: KioskPolicy, *, headless: bool) -> list[str]:
    """Chromium flags for the policy (to add to ``capture.extra_args``): the proxy rules,
    and when headful the kiosk window and printing."""
    args = proxy_args(policy)
    if headless:
        return args
    args.extend(KIOSK_ARGS)
    if policy.printing == "silent":
        args.extend(SILENT_PRINTING_ARGS)
    return args


def proxy_args(policy: KioskPolicy) -> list[str]:
    """Every connection to an origin the allowlist does not name goes to ``DEAD_PROXY``
    (fails); the allowed origins bypass it (``--proxy-bypass-list``, loopback included:
    ``<-loopback>`` drops Chromium's implicit loopback bypass). Origins only: path prefixes
    are ``Fetch``'s. ``any-https`` proxies ``http``/``ws`` only; with ``any``, or with a scope
    not enforced, nothing is proxied (WebSockets then go anywhere)."""
    allow = policy.allowlist
    if allow.scopes != frozenset(SCOPES) or allow.subresources == "any":
        return []
    server = DEAD_PROXY if allow.subresources == "allowlist" else f"http={DEAD_PROXY}"
    rules = ["<-loopback>", *dict.fromkeys(r for p in allow.patterns for r in _bypass_rules(p))]
    return [f"--proxy-server={server}", f"--proxy-bypass-list={';'.join(rules)}"]


def _bypass_rules(p: Pattern) -> list[str]:
    """``scheme://host[:port]`` as Chromium's bypass rules read it (``*.host``: subdomains
    only, as in the allowlist; no port: any port), for the pattern's scheme and its
    WebSocket twin (``ws`` for ``http``, ``wss`` for ``https``)."""
    host = ("*." if p.subdomains else "") + p.host
    port = "" if p.port is None else f":{p.port}"
    twin = "ws" if p.scheme == "http" else "wss"
    return [f"{p.scheme}://{host}{port}", f"{twin}://{host}{port}"]
