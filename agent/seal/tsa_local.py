"""A tiny RFC 3161 Time-Stamp Authority on 127.0.0.1, for tests and the demo. NOT for evidence.

It shells out to the ``openssl`` CLI (present on a stock Debian/Ubuntu install, OpenSSL >= 1.1.1):
a self-signed root CA and a TSA certificate (``extendedKeyUsage = critical,timeStamping``,
RFC 3161 section 2.3) are created once under ``workdir``; each POSTed query is answered by
``openssl ts -reply -config tsa.cnf``.

Interop trap: the generated ``tsa.cnf`` has no ``certs =`` line. With one, OpenSSL embeds the
certificate SET without DER ordering and rfc3161-client 1.0.9 rejects the reply
(``InvalidSetOrdering``). The signer certificate is still embedded (``certReq``), which is
all a chain of length two needs.

Usage::

    with LocalTSA(tmp_path) as tsa:
        token = request_timestamp(digest, tsa.url)
        verify_timestamp(token, digest, [tsa.root_pem])
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Self

from agent.errors import SessiontapeError

POLICY_OID = "1.3.6.1.4.1.4146.1.2"  # placeholder policy id for the test TSA
MAX_QUERY_BYTES = 64 * 1024

_TSA_CNF = """\
# Local test TSA (sessiontape). Deliberately no `certs =` line: see agent/seal/tsa_local.py.
[tsa]
default_tsa = tsa_config1

[tsa_config1]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
digests = sha256, sha384, sha512
accuracy = secs:1
clock_precision_digits = 3
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

_EXT_CNF = """\
[tsa_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,nonRepudiation
extendedKeyUsage = critical,timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


def _openssl(words: str, *args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    """Run ``openssl <words split on spaces> <args>`` in ``cwd``; raise on failure."""
    args = (*words.split(), *args)
    exe = shutil.which("openssl")
    if exe is None:
        raise SessiontapeError("the local TSA needs the `openssl` command (apt install openssl)")
    result = subprocess.run([exe, *args], cwd=cwd, capture_output=True, check=False)
    if result.returncode != 0:
        detail = result.stderr.decode(errors="replace").strip().splitlines()
        raise SessiontapeError(
            f"openssl {args[0]} {args[1] if len(args) > 1 else ''} failed: "
            + (detail[-1] if detail else f"exit {result.returncode}")
        )
    return result


class LocalTSA:
    """A loopback TSA backed by ``openssl ts -reply``; keys and certs live in ``workdir``."""

    def __init__(self, workdir: Path, *, name: str = "sessiontape local test") -> None:
        self.workdir = Path(workdir)
        self.name = name
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # openssl updates the serial file: one reply at a time
        self._ensure_material()

    # -- material ------------------------------------------------------------------------------

    def _ensure_material(self) -> None:
        d = self.workdir
        d.mkdir(parents=True, exist_ok=True)
        if (d / "tsa.cnf").exists() and (d / "tsa.pem").exists() and (d / "root.pem").exists():
            return
        ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
        _openssl(
            f"req -x509 {ec} -keyout root.key -out root.pem -days 3650 -sha256",
            *("-subj", f"/O=sessiontape/CN={self.name} root CA"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            cwd=d,
        )
        _openssl(
            f"req -new {ec} -keyout tsa.key -out tsa.csr",
            *("-subj", f"/O=sessiontape/CN={self.name} TSA"),
            cwd=d,
        )
        (d / "tsa_ext.cnf").write_text(_EXT_CNF)
        _openssl(
            "x509 -req -in tsa.csr -CA root.pem -CAkey root.key -set_serial 2 -days 3650 -sha256"
            " -extfile tsa_ext.cnf -extensions tsa_ext -out tsa.pem",
            cwd=d,
        )
        for key in ("root.key", "tsa.key"):
            (d / key).chmod(0o600)
        (d / "serial").write_text("01\n")
        # Written last: its presence marks the material as complete.
        (d / "tsa.cnf").write_text(_TSA_CNF.format(dir=d.resolve(), policy=POLICY_OID))

    @property
    def root_pem(self) -> bytes:
        """The root CA certificate (PEM) that verifiers must trust for this TSA."""
        return (self.workdir / "root.pem").read_bytes()

    @property
    def tsa_cert_pem(self) -> bytes:
        """The TSA signing certificate (PEM)."""
        return (self.workdir / "tsa.pem").read_bytes()

    # -- answering ----------------------------------------------------------------------------

    def reply(self, query: bytes) -> bytes:
        """Answer one DER TimeStampReq with a DER TimeStampResp (``openssl ts -reply``)."""
        with self._lock, tempfile.TemporaryDirectory(dir=self.workdir) as tmp:
            t = Path(tmp)
            (t / "q.tsq").write_bytes(query)
            config = str(self.workdir / "tsa.cnf")
            _openssl("ts -reply -queryfile q.tsq -out r.tsr -config", config, cwd=t)
            return (t / "r.tsr").read_bytes()

    # -- HTTP ---------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self._server is None:
            raise SessiontapeError("local TSA is not serving; call serve() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/tsa"

    def serve(self) -> str:
        """Start answering on 127.0.0.1 (random port) in a daemon thread; return the URL."""
        if self._server is not None:
            return self.url
        tsa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server naming)
                ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
                length = int(self.headers.get("Content-Length") or 0)
                if ctype != "application/timestamp-query":
                    self._send(415, "text/plain", b"expected application/timestamp-query\n")
                    return
                if not 0 < length <= MAX_QUERY_BYTES:
                    self._send(400, "text/plain", b"bad Content-Length\n")
                    return
                try:
                    body = tsa.reply(self.rfile.read(length))
                except SessiontapeError as exc:
                    self._send(400, "text/plain", f"{exc}\n".encode())
                    return
                self._send(200, "application/timestamp-reply", body)

            def _send(self, code: int, ctype: str, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                return  # quiet: tests and the demo do not want access logs on stderr

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="sessiontape-local-tsa",
            daemon=True,
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and join the thread (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def __enter__(self) -> Self:
        self.serve()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
