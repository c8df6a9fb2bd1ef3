"""``sessiontape mask test``: which elements and fields each rule hits on a real page.

The page is loaded in headless Chromium; a script in the page lists the elements each
element rule's selector matches (the browser's own selector engine, as the recorder uses)
plus every text node, attribute and form-control value; the agent-side rules (patterns,
query parameters, headers, bodies) are then run over those and over the page's requests.
Previews are always the *masked* value: the tool never prints a clear secret.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from agent.mask.compiled import Hit
from agent.mask.masker import Masker
from agent.mask.strings import MARKER

_COLLECT_JS = r"""
(rules) => {
  const out = {elements: [], items: [], controls: []};
  const cssPath = (el) => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && parts.length < 4; e = e.parentElement) {
      let p = e.tagName.toLowerCase();
      if (e.id) { parts.unshift(p + '#' + e.id); break; }
      const name = e.getAttribute('name');
      if (name) p += '[name="' + name + '"]';
      else if (e.parentElement) {
        const sib = Array.from(e.parentElement.children).filter(s => s.tagName === e.tagName);
        if (sib.length > 1) p += ':nth-of-type(' + (sib.indexOf(e) + 1) + ')';
      }
      parts.unshift(p);
    }
    return parts.join(' > ');
  };
  const isControl = (el) => ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName);
  for (const r of rules) {
    let els = [];
    try { els = Array.from(document.querySelectorAll(r.selector)); }
    catch (e) { out.elements.push({rule: r.id, error: String(e)}); continue; }
    for (const el of els.slice(0, 100)) {
      out.elements.push({rule: r.id, selector: cssPath(el), tag: el.tagName.toLowerCase(),
        value: isControl(el) ? String(el.value || '') : null,
        text: isControl(el) ? '' : (el.textContent || '').trim().slice(0, 500)});
    }
  }
  for (const el of document.querySelectorAll('input, textarea, select, [contenteditable]')) {
    const hit = rules.filter(r => {
      try { return el.matches(r.selector); } catch (e) { return false; }
    });
    out.controls.push({selector: cssPath(el), tag: el.tagName.toLowerCase(),
      type: String(el.getAttribute('type') || ''), value: String(el.value || ''),
      rules: hit.map(r => r.id)});
  }
  const walker = document.createTreeWalker(document.documentElement, NodeFilter.SHOW_TEXT);
  let n, count = 0;
  while ((n = walker.nextNode()) && count < 20000) {
    const t = n.nodeValue;
    const p = n.parentElement;
    if (t && t.trim() && p && !['SCRIPT', 'STYLE'].includes(p.tagName)) {
      out.items.push({selector: cssPath(n.parentElement), where: 'text', value: t.slice(0, 4000)});
      count++;
    }
  }
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.value && a.name !== 'class' && a.name !== 'style')
        out.items.push({selector: cssPath(el), where: 'attr:' + a.name,
                        value: a.value.slice(0, 4000)});
    }
    if (isControl(el) && el.value)
      out.items.push({selector: cssPath(el), where: 'value', value: String(el.value)});
  }
  return out;
}
"""


@dataclass
class ProbeHit:
    """One place a rule applies, with the masked preview."""

    rule: str
    source: str  # element | control | pattern | query_param | header | form_field | json_path
    where: str  # CSS path or request URL / field
    preview: str


@dataclass
class ProbeReport:
    """Everything ``mask test`` found."""

    target: str
    hits: list[ProbeHit] = field(default_factory=list)
    page_only_rules: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def rules_hit(self) -> set[str]:
        """Rule ids with at least one hit."""
        return {h.rule for h in self.hits}

    def as_json(self) -> str:
        """The report as JSON."""
        return json.dumps(asdict(self), indent=2, sort_keys=True)


KEPT = "(kept in clear)"


def _preview(masker: Masker, value: str, hit: Hit | None) -> str:
    """What the recording will hold for ``value``; a value the rules keep in clear is shown
    as :data:`KEPT`, so the report never prints a value from the page."""
    out = masker.strings.apply(value, hit) if hit is not None else masker.strings.scan(value)
    text = value if out is None else out[0]
    if hit is not None and out is None:
        text = MARKER if hit.strength > 0 else KEPT
    return text[:160]


def _element_hits(masker: Masker, collected: dict[str, Any], report: ProbeReport) -> None:
    """The elements each element rule's selector matched (or the browser's selector error)."""
    for el in collected.get("elements", []):
        if "error" in el:
            report.errors.append(
                f"rule {el['rule']}: selector rejected by the browser: {el['error']}"
            )
            continue
        hit = masker.rules.hits.get(el["rule"])
        value = el["value"] if el.get("value") is not None else el.get("text", "")
        report.hits.append(
            ProbeHit(
                el["rule"], "element", el["selector"], _preview(masker, value, hit) if value else ""
            )
        )


def _control_hits(masker: Masker, collected: dict[str, Any], report: ProbeReport) -> None:
    """Form controls no rule matched: the default input mode applies (keep: in clear)."""
    rules = masker.rules
    for c in collected.get("controls", []):
        if c["rules"]:
            continue
        if c["tag"] == "input" and c["type"].lower() in rules.unmasked_input_types:
            continue
        report.hits.append(
            ProbeHit(
                "default.input",
                "control",
                c["selector"],
                _preview(masker, c["value"], rules.default_input),
            )
        )


def _pattern_hits(masker: Masker, collected: dict[str, Any], report: ProbeReport) -> None:
    """Text, attribute and value items a value pattern matches (one hit per pattern)."""
    for item in collected.get("items", []):
        for p in masker.rules.patterns:
            for m in p.regex.finditer(item["value"]):
                if p.check(m.group(0)):
                    report.hits.append(
                        ProbeHit(
                            p.hit.rule_id,
                            "pattern",
                            f"{item['selector']} ({item['where']})",
                            _preview(masker, item["value"], None),
                        )
                    )
                    break


def _request_hits(masker: Masker, req: dict[str, Any], report: ProbeReport) -> None:
    """Query parameters, headers and body fields of one request that rules mask."""
    rules = masker.rules
    raw_url = str(req.get("url", ""))
    masked_url = masker.strings.url(raw_url)
    url = raw_url if masked_url is None else masked_url[0]  # shown masked, too
    for k, v in parse_qsl(urlsplit(raw_url).query, keep_blank_values=True):
        qh = rules.name_hit("query_param", k)
        if qh is not None:
            report.hits.append(
                ProbeHit(qh.rule_id, "query_param", f"{url} ?{k}", _preview(masker, v, qh))
            )
    for name, v in (req.get("headers") or {}).items():
        hh = rules.name_hit("header", name)
        if hh is not None:
            report.hits.append(
                ProbeHit(hh.rule_id, "header", f"{url} {name}", _preview(masker, str(v), hh))
            )
    body = req.get("post_data")
    if isinstance(body, str) and body:
        _body_hits(masker, url, body, report)


def analyze(
    masker: Masker, target: str, collected: dict[str, Any], requests: list[dict[str, Any]]
) -> ProbeReport:
    """Turn what the page script and the request log collected into rule hits."""
    report = ProbeReport(target)
    report.page_only_rules = [r.id for r in masker.rules.rules if r.page_only()]
    _element_hits(masker, collected, report)
    _control_hits(masker, collected, report)
    _pattern_hits(masker, collected, report)
    for req in requests:
        _request_hits(masker, req, report)
    return report


def _body_hits(masker: Masker, url: str, body: str, report: ProbeReport) -> None:
    rules = masker.rules
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if obj is not None:
        stack: list[tuple[Any, tuple[str, ...]]] = [(obj, ())]
        while stack:
            node, kp = stack.pop()
            if isinstance(node, dict):
                for k, v in node.items():
                    jh = rules.path_hit("json_path", (*kp, k))
                    if jh is not None:
                        report.hits.append(
                            ProbeHit(
                                jh.rule_id,
                                "json_path",
                                f"{url} $.{'.'.join((*kp, k))}",
                                _preview(masker, str(v), jh),
                            )
                        )
                    else:
                        stack.append((v, (*kp, k)))
            elif isinstance(node, list):
                stack.extend((x, kp) for x in node)
        return
    for k, v in parse_qsl(body, keep_blank_values=True):
        fh = rules.name_hit("form_field", k)
        if fh is not None:
            report.hits.append(
                ProbeHit(fh.rule_id, "form_field", f"{url} {k}", _preview(masker, v, fh))
            )


async def probe(
    masker: Masker,
    url: str,
    *,
    executable: str = "/usr/lib/chromium/chromium",
    settle_ms: int = 500,
    timeout_ms: int = 30_000,
) -> ProbeReport:
    """Load ``url`` in headless Chromium and report the rule hits."""
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import async_playwright

    from agent.errors import CaptureError

    cfg = masker.page_config()
    requests: list[dict[str, Any]] = []
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path=executable, headless=True, args=["--disable-quic"]
            )
            try:
                page = await browser.new_page()
                page.on(
                    "request",
                    lambda r: requests.append(
                        {"url": r.url, "headers": r.headers, "post_data": r.post_data}
                    ),
                )
                await page.goto(url, wait_until="load", timeout=timeout_ms)
                await page.wait_for_timeout(settle_ms)
                collected = await page.evaluate(_COLLECT_JS, cfg["rules"])
            finally:
                await browser.close()
    except PlaywrightError as exc:
        raise CaptureError(f"mask test: cannot load {url}: {exc.message.splitlines()[0]}") from exc
    return analyze(masker, url, collected, requests)


def render(report: ProbeReport) -> str:
    """Human-readable report, grouped by rule."""
    lines = [f"mask test: {report.target}"]
    by_rule: dict[str, list[ProbeHit]] = {}
    for h in report.hits:
        by_rule.setdefault(h.rule, []).append(h)
    for rule, hits in sorted(by_rule.items()):
        lines.append(f"rule {rule}: {len(hits)} hit(s)")
        for h in hits[:50]:
            lines.append(f"  [{h.source}] {h.where}  ->  {h.preview!r}")
        if len(hits) > 50:
            lines.append(f"  ... {len(hits) - 50} more")
    if report.page_only_rules:
        lines.append(
            "enforced by the recorder only (selector needs the browser): "
            + ", ".join(report.page_only_rules)
        )
    lines.extend(f"error: {e}" for e in report.errors)
    return "\n".join(lines)
