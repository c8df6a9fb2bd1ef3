"""``agent.metrics_listen``: where the optional TCP metrics listener binds, checked at load.

Nothing of the agent listens beyond the loopback interface unless the firm configures it
explicitly: a non-loopback address is refused unless ``agent.metrics_listen_remote`` is also
true (metrics name the session being recorded and how far the vault covers it).
"""

from __future__ import annotations

import ipaddress


def parse_listen(value: str, *, allow_remote: bool = False) -> tuple[str, int] | None:
    """``"host:port"`` (``[v6]:port`` for IPv6; port 0 = any free one) as (host, port); None
    for ""; ValueError for anything else, and for a non-loopback host unless
    ``allow_remote``."""
    if not value:
        return None
    host, sep, port_s = value.rpartition(":")
    if not sep or not port_s.isdigit() or not 0 <= int(port_s) < 65536:
        raise ValueError(f"metrics_listen {value!r} is not host:port")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if host == "localhost":
        host = "127.0.0.1"
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"metrics_listen {value!r}: host must be an IP address") from None
    if not addr.is_loopback and not allow_remote:
        raise ValueError(
            f"metrics_listen {value!r} is not a loopback address; set "
            "agent.metrics_listen_remote = true to listen beyond 127.0.0.1"
        )
    return str(addr), int(port_s)
