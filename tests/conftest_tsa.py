"""Pytest fixtures for RFC 3161 timestamps (import from tests/conftest.py).

``local_tsa``: one :class:`agent.seal.tsa_local.LocalTSA` for the whole test session, serving on
127.0.0.1 (``local_tsa.url``; trust ``local_tsa.root_pem``). Its keys are generated once with
the ``openssl`` CLI in a session temp directory; the server thread stops at session end.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from agent.seal.tsa_local import LocalTSA


@pytest.fixture(scope="session")
def local_tsa(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalTSA]:
    """A running local TSA (url + root PEM) shared by every test in the session."""
    with LocalTSA(tmp_path_factory.mktemp("local-tsa")) as tsa:
        yield tsa
