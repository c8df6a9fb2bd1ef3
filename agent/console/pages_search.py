"""Search across every session, with facets (user, workstation, application host, kind, time).

The form's fields become one query of the search language (``user:`` ``host:`` ``kind:``
``from:`` ``to:`` plus free text); the workstation facet, which the language has no operator
for, filters the hits. The search goes through :func:`agent.index.search.search` - the audited
call - under the signed-in principal, so its ``audit.search`` record names them. Facet counts
are counted over the hits; each hit opens the replay at its event (``/replay/<id>?seq=``).
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from agent.console.auth import guarded, state_of
from agent.console.identity import Principal
from agent.console.state import acting
from agent.console.templating import render
from agent.errors import UsageError

FACETS = ("user", "workstation", "host", "kind")
FIELDS = (*FACETS, "q", "from", "to")


def _quoted(value: str) -> str:
    v = value.strip()
    return '"' + v.replace('"', '""') + '"' if any(c.isspace() or c == '"' for c in v) else v


def build_query(params: dict[str, str]) -> str:
    """The search-language query of the form's fields (workstation excluded)."""
    parts = [params.get("q", "").strip()]
    for op in ("user", "host", "kind", "from", "to"):
        if params.get(op, "").strip():
            parts.append(f"{op}:{_quoted(params[op])}")
    return " ".join(p for p in parts if p)


def facet_counts(hits: list[Any]) -> dict[str, list[tuple[str, int]]]:
    """Per facet, (value, hits) pairs, most hits first."""
    out: dict[str, list[tuple[str, int]]] = {}
    for f in FACETS:
        c = Counter(str(getattr(h, f) or "") for h in hits)
        c.pop("", None)
        out[f] = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    return out


def _run(request: Request, who: Principal, query: str, workstation: str) -> list[Any]:
    from agent.index.search import search

    st = state_of(request)
    with acting(who):
        hits = search(st.home, st.config, query, limit=st.config.console.search_limit)
    return [h for h in hits if not workstation or h.workstation == workstation]


@guarded("search")
async def search_page(request: Request, who: Principal) -> Response:
    params = {k: str(request.query_params.get(k, "")) for k in FIELDS}
    query = build_query(params)
    hits: list[Any] = []
    error = ""
    searched = bool(query or params["workstation"])
    if searched:
        try:
            # A workstation alone (no operator in the language) lists every session's first
            # event, filtered to that workstation.
            everything = query or "from:1970-01-01"
            hits = await run_in_threadpool(_run, request, who, everything, params["workstation"])
        except UsageError as exc:
            error = exc.message

    def with_facet(name: str, value: str) -> str:
        return "/search?" + urlencode({**{k: v for k, v in params.items() if v}, name: value})

    return render(
        request,
        "search.html",
        who,
        params=params,
        query=query,
        hits=hits,
        facets=facet_counts(hits),
        with_facet=with_facet,
        searched=searched,
        error=error,
    )


routes = [Route("/search", search_page)]
