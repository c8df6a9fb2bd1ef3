"""``sessiontape export-test``: a recorded session as a readable Playwright test for pytest.

One test function does what the person did, step by step, each under a comment with the
recorded action in words. Elements are found by what a reader recognises - role and
accessible name, label, text - with the test id, id and CSS path as fallbacks; the first
that finds exactly one element (main frame first, then the other frames) is used. After a
step, ``expect`` asserts the texts that appeared in the recording (:mod:`.outcomes`), and a
step that caused requests asserts each response's status class. Masked values are never
written into the file: each is read from an environment variable named after its field
(``SESSIONTAPE_FILL_PASSWORD``). ``SESSIONTAPE_BASE_URL`` moves the session's origin,
``SESSIONTAPE_CHROMIUM`` names the Chromium to launch.

The file needs only ``pytest`` and ``playwright``: its ``page`` fixture is its own (the
pytest-playwright plugin is not needed, and the project depends on no package outside its
allowed list).
"""

from __future__ import annotations

import json
import re

from agent.actions.model import Action, Target
from agent.redrive.export_prelude import PRELUDE
from agent.redrive.outcomes import appeared_texts
from agent.redrive.plan import Plan, Step, origin_of

_FIELD_TAGS = frozenset({"input", "textarea", "select"})
_HTTP_CLASSES = frozenset({"2xx", "3xx", "4xx", "5xx"})


def _q(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def env_name(a: Action, clash: set[str]) -> str:
    """The environment variable a masked value is read from: ``SESSIONTAPE_FILL_`` and the
    field's label (with its form's name when two masked fields share a label)."""
    t = a.target
    name = t.name or t.element_id or t.css or "value"
    if name in clash and t.form:
        name = f"{t.form} {name}"
    return "SESSIONTAPE_FILL_" + (re.sub(r"[^A-Z0-9]+", "_", name.upper()).strip("_") or "VALUE")


def _clashes(plan: Plan) -> set[str]:
    """Labels shared by masked fields that are not the same field."""
    seen: dict[str, set[str]] = {}
    for s in plan.steps:
        t = s.action.target
        if s.action.verb == "type" and s.action.masked and t.name:
            seen.setdefault(t.name, set()).add(t.css or t.element_id)
    return {n for n, fields in seen.items() if len(fields) > 1}


def finders(t: Target) -> list[str]:
    """Locator expressions on a frame ``f``: the most readable one (role and name, else
    label, else text), then one exact fallback (test id, else id, else the CSS path)."""
    readable: list[str] = []
    if t.role and t.name:
        readable.append(f"f.get_by_role({_q(t.role)}, name={_q(t.name)}, exact=True)")
    if t.name and (t.tag in _FIELD_TAGS or t.role in ("textbox", "combobox", "checkbox")):
        readable.append(f"f.get_by_label({_q(t.name)}, exact=True)")
    if t.name and t.tag not in _FIELD_TAGS and t.tag != "form":
        readable.append(f"f.get_by_text({_q(t.name)}, exact=True)")
    exact: list[str] = []
    if t.test_id:
        exact.append(f"f.get_by_test_id({_q(t.test_id)})")
    if t.element_id:
        exact.append(f"f.locator({_q('#' + t.element_id)})")
    if t.css:
        exact.append(f"f.locator({_q(t.css)})")
    return readable[:1] + exact[:1]


def _call(p: str, fs: list[str], indent: str) -> str:
    """``_one(page, lambda f: ..., ...)``, on one line when it fits, else one finder a line."""
    one = f"_one({p}, {', '.join(f'lambda f: {f}' for f in fs)})"
    if len(indent) + len(one) <= 70:
        return one
    inner = "".join(f"{indent}    lambda f: {f},\n" for f in fs)
    return f"_one(\n{indent}    {p},\n{inner}{indent})"


class _Writer:
    """The body of the test function, step by step."""

    def __init__(self, plan: Plan, base_origin: str) -> None:
        self.plan = plan
        self.origin = base_origin
        self.clash = _clashes(plan)
        self.pages: dict[str | None, str] = {}
        self.lines: list[str] = []
        self.depth = 0  # 1 inside a ``with`` that waits for the step's responses

    def page_var(self, page_id: str | None) -> str:
        if page_id not in self.pages:
            self.pages[page_id] = "page" if not self.pages else f"popup{len(self.pages)}"
        return self.pages[page_id]

    def url(self, url: str) -> str:
        if origin_of(url) == self.origin:
            return f"BASE_URL + {_q(url[len(self.origin) :] or '/')}"
        return _q(url)

    def act(self, a: Action) -> list[str]:
        """The statement(s) doing one action (an empty list: nothing to do)."""
        if a.verb == "popup":
            var = self.page_var(a.page)
            used = any(
                s.action.page == a.page and s.action.verb != "popup" for s in self.plan.steps
            )
            return [
                f"{var} = _opened({len(self.pages)})" if used else f"_opened({len(self.pages)})"
            ]
        # a page no popup step opened: the first one
        p = self.page_var(a.page) if a.page in self.pages or not self.pages else "page"
        if a.verb == "navigate":
            how = a.detail.get("how")
            return [f"{p}.reload()"] if how == "reload" else [f"{p}.goto({self.url(a.url)})"]
        if a.verb == "dialog":
            return [f"_until(lambda: {_q(str(a.detail.get('message') or ''))} in ANSWERED)"]
        if a.verb == "download":
            return [f"assert _downloaded({_q(str(a.detail.get('sha256') or ''))})"]
        if a.verb == "upload":
            return ["pass  # uploads are not repeated"]
        if a.verb == "scroll" and not a.detail.get("element"):
            return [f'{p}.evaluate("scrollTo({a.detail.get("x")}, {a.detail.get("y")})")']
        fs = finders(a.target)
        if not fs:
            x, y = a.target.x, a.target.y
            return [f"{p}.mouse.click({x}, {y})"] if x is not None and y is not None else []
        return [self._on_element(a, _call(p, fs, "    " * (1 + self.depth)))]

    def _on_element(self, a: Action, el: str) -> str:
        v = a.verb
        if v == "type":
            env = f"os.environ[{_q(env_name(a, self.clash))}]"
            return f"{el}.fill({env if a.masked else _q(a.value or '')})"
        calls = {
            "click": "click()",
            "dblclick": "dblclick()",
            "contextmenu": 'click(button="right")',
            "select": f"select_option({_q(a.value or '')})",
            "check": "check()",
            "uncheck": "uncheck()",
            "submit": 'evaluate("f => f.requestSubmit()")',
            "key": f"press({_q(str(a.detail.get('combo') or a.value or ''))})",
            "scroll": f'evaluate("e => e.scrollTo({a.detail.get("x")}, {a.detail.get("y")})")',
        }
        return f"{el}.{calls.get(v, 'click()')}"

    def step(self, i: int, steps: list[Step], texts: list[str]) -> None:
        """One step: the comment, the action (inside the wait for its responses), then the
        assertions."""
        s = steps[i]
        a = s.action
        self.lines.append(f"    # {s.index}. {a.text}")
        if s.follows:
            self.lines.append("    # (done by the step before)")
        expected = [e for e in s.expected if e.status in _HTTP_CLASSES]
        if not s.follows:
            for nxt in steps[i + 1 :]:
                if not nxt.follows:
                    break
                expected += [e for e in nxt.expected if e.status in _HTTP_CLASSES]
        self.depth = 1 if expected else 0
        body = [] if s.follows else self.act(a)
        if body and expected:
            waits = "".join(
                f"        _response({_q(e.method)}, {_q(e.path)}) as r{n},\n"
                for n, e in enumerate(expected)
            )
            self.lines.append(f"    with (\n{waits}    ):")
            self.lines += [f"        {b}" for b in body]
            for n, e in enumerate(expected):
                self.lines.append(f"    assert r{n}.value.status // 100 == {e.status[0]}")
        else:
            self.lines += [f"    {b}" for b in body]
        p = self.pages.get(a.page, "page")
        for t in texts:
            self.lines.append(f"    expect({p}.get_by_text({_q(t)}).first).to_be_visible()")


def export_test(plan: Plan, base_url: str = "") -> str:
    """The test file's text."""
    w = _Writer(plan, plan.origin)
    steps = plan.steps
    texts = appeared_texts(plan.records, [(s.action.seq, s.action.page) for s in steps])
    for i in range(len(steps)):
        w.step(i, steps, texts[i])
    env = sorted({env_name(s.action, w.clash) for s in steps if s.action.masked})
    head = PRELUDE
    head = head.replace("__SESSION__", plan.session_id).replace("__INTEGRITY__", plan.integrity)
    head = head.replace("__ORIGIN__", _q(base_url.rstrip("/") or plan.origin))
    head = head.replace("__ENV__", "\n".join(f"    {e}" for e in env) or "    (none)")
    dialogs = "".join(
        f"    {_q(str(a.detail.get('message') or ''))}: "
        f"[{bool(a.detail.get('accepted'))}, {_q(a.value) if a.value is not None else None}],\n"
        for a in (s.action for s in steps)
        if a.verb == "dialog"
    )
    head = head.replace("__DIALOGS__", "{\n" + dialogs + "}" if dialogs else "{}")
    return head + "\n\ndef test_flow(page: Page) -> None:\n" + "\n".join(w.lines) + "\n"
