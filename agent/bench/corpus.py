"""The synthetic search corpus of ``sessiontape bench search``: rows as the extractor would
produce them, with skewed (Zipf) distributions.

Users, hosts and URL paths, account tokens and words of page text follow Zipf laws; order ids
are unique; sessions are spread over business hours of ``days`` days. Everything is drawn
from one seeded RNG, so a corpus is the same on every machine.
"""

from __future__ import annotations

import itertools
import random

from agent.index.extract import Row

NS = 1_000_000_000
DAY = 86_400 * NS
BASE = 1_795_000_000 * NS  # 2026-11-17T..Z
_ACTIONS = [
    ("click", "rrweb.mouse_interaction", 20),
    ("input", "rrweb.input", 12),
    ("navigate", "page.navigate", 5),
    ("title", "page.title", 3),
    ("request", "net.request", 24),
    ("response", "net.response", 24),
    ("ws_sent", "net.ws_frame", 4),
    ("text", "rrweb.mutation", 5),
    ("keyframe", "rrweb.full_snapshot", 1),
    ("console", "page.console", 1),
    ("gap", "capture.gap", 1),
]
_FIELDS = ["account", "ssn", "symbol", "quantity", "price", "client_name", "notes"]
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "zi", "pe", "sa", "do", "fu", "gri"]
_SYLLABLES += ["bel", "tor", "an", "ex", "ul", "ost", "ber"]
_POOL = 200_000  # pre-drawn Zipf samples per pool


def _zipf_cum(n: int, s: float = 1.07) -> list[float]:
    acc = 0.0
    out = []
    for i in range(1, n + 1):
        acc += 1.0 / i**s
        out.append(acc)
    return out


class Corpus:
    """Deterministic synthetic sessions (seeded)."""

    def __init__(
        self, sessions: int, events_per_session: int, *, seed: int = 7, days: int = 90
    ) -> None:
        self.sessions = sessions
        self.eps = events_per_session
        self.days = days
        self.rng = random.Random(seed)
        r = self.rng
        self.words = list(
            dict.fromkeys(
                "".join(r.choice(_SYLLABLES) for _ in range(r.randint(2, 4))) for _ in range(60_000)
            )
        )
        self.words_cum = _zipf_cum(len(self.words))
        # Zipf-distributed text: windows of one long pre-drawn stream (drawing per word is
        # slower than writing the index, which is what the bench measures)
        self.pool = r.choices(self.words, cum_weights=self.words_cum, k=2_000_000)
        self.users = [f"user{i:05d}" for i in range(max(50, sessions // 40))]
        self.users_cum = _zipf_cum(len(self.users), 0.8)
        self.hosts = [
            f"{w}.{d}.firm.example"
            for w, d in zip(
                self.words[:300], itertools.cycle(["oms", "crm", "bo", "mkt"]), strict=False
            )
        ]
        self.hosts_cum = _zipf_cum(len(self.hosts))
        self.paths = [f"/{self.words[i]}/{self.words[i + 7]}" for i in range(500)]
        self.paths_cum = _zipf_cum(len(self.paths))
        self.path_pool = r.choices(self.paths, cum_weights=self.paths_cum, k=_POOL)
        self.host_pool = r.choices(self.hosts, cum_weights=self.hosts_cum, k=_POOL)
        self.accounts = [f"tok_{r.getrandbits(64):016x}" for _ in range(max(1000, sessions * 2))]
        self.accounts_cum = _zipf_cum(len(self.accounts), 0.9)
        self.acct_pool = r.choices(self.accounts, cum_weights=self.accounts_cum, k=_POOL)
        self.order_seq = 0
        self.meta: list[tuple[str, str, int, int]] = []  # (session_id, user, start, end)

    def _words(self, k: int) -> str:
        i = self.rng.randrange(len(self.pool) - k)
        return " ".join(self.pool[i : i + k])

    def session(self, i: int) -> tuple[str, str, list[Row]]:
        """(session_id, user, rows) of session ``i``."""
        r = self.rng
        user = r.choices(self.users, cum_weights=self.users_cum)[0]
        day = r.randrange(self.days)
        start = BASE + day * DAY + (13 * 3600 + r.randrange(8 * 3600)) * NS
        dur = int(min(8 * 3600, r.lognormvariate(7.5, 0.8)) * NS)
        sid = f"S{i:07d}-{r.getrandbits(32):08x}"
        n = max(5, int(r.gauss(self.eps, self.eps * 0.2)))
        acts = r.choices(_ACTIONS, weights=[a[2] for a in _ACTIONS], k=n)
        ts = sorted(start + r.randrange(max(1, dur)) for _ in range(n))
        host = self.host_pool[r.randrange(_POOL)]
        rows: list[Row] = []
        for seq, ((action, kind, _), t) in enumerate(zip(acts, ts, strict=True)):
            if r.random() < 0.1:
                host = self.host_pool[r.randrange(_POOL)]
            path = self.path_pool[r.randrange(_POOL)]
            url = f"https://{host}{path}"
            row = Row(
                seq=seq, t_ns=t, kind=kind, action=action, page="P1", host=host, path=path, url=url
            )
            self._fill(row, action, url)
            rows.append(row)
        self.meta.append((sid, user, ts[0], ts[-1]))
        return sid, user, rows

    def _fill(self, row: Row, action: str, url: str) -> None:
        """The action's own fields: target, label, tokens, method, status, text."""
        r = self.rng
        if action == "click":
            row.target = self._words(2).title()
            row.selector = f"button#{row.target.split()[0].lower()}"
            row.text = f"click {row.target}"
        elif action == "input":
            self._fill_input(row)
        elif action in ("request", "ws_sent"):
            self._fill_request(row, action, url)
        elif action == "response":
            row.status = r.choices([200, 201, 302, 404, 500], weights=[85, 5, 5, 4, 1])[0]
            row.text = f"{row.status} {url} {self._words(4)}"
        elif action == "keyframe":
            row.text = self._words(r.randint(80, 250))
        elif action == "text":
            row.text = self._words(r.randint(3, 15))
        elif action == "title":
            row.text = self._words(4).title()
        elif action == "console":
            row.target = "error"
            row.text = f"console error {self._words(6)}"
        elif action == "navigate":
            row.text = url.replace("/", " ")
        else:
            row.text = f"capture.gap cause recorder_silent silence_ms {r.randrange(9999)}"

    def _fill_input(self, row: Row) -> None:
        r = self.rng
        f = r.choice(_FIELDS)
        row.label = f.replace("_", " ").title()
        tok = (
            self.acct_pool[r.randrange(_POOL)]
            if f == "account"
            else f"tok_{r.getrandbits(64):016x}"
        )
        row.tokens = [(tok, f)]
        row.text = f"typed {row.label}"

    def _fill_request(self, row: Row, action: str, url: str) -> None:
        """A request or WebSocket frame; some carry an order with a unique id and an account."""
        r = self.rng
        row.method = "POST" if action == "request" and r.random() < 0.3 else "GET"
        body = self._words(6)
        if r.random() < 0.15:
            self.order_seq += 1
            acct = self.acct_pool[r.randrange(_POOL)]
            body = (
                f"order_id ORD-{self.order_seq:08d} symbol "
                f"{self.words[r.randrange(40)].upper()} quantity {r.randrange(1, 999)}"
                f" account"
            )
            row.tokens = [(acct, "account")]
        row.text = f"{row.method} {url} {body}"
