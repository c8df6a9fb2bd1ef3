"""The re-drive's outputs: ``report.json``, JUnit XML for CI (one test case per step; a
divergence is a failure), and a self-contained HTML step list (no script, no external file:
each compared step's original moment, re-driven page and diff are inlined as ``data:`` PNGs).
"""

from __future__ import annotations

import base64
import html
import json
from pathlib import Path
from xml.etree import ElementTree as ET

from agent.redrive.pixels import png
from agent.redrive.result import MATCH, SKIPPED, RedriveReport, StepResult


def write_json(rep: RedriveReport, path: Path) -> None:
    """The JSON report."""
    path.write_text(json.dumps(rep.as_dict(), indent=2, ensure_ascii=False) + "\n", "utf-8")


def junit_xml(rep: RedriveReport) -> str:
    """One ``testsuite``: a ``testcase`` per step named by its number and words."""
    bad = rep.divergent
    suite = ET.Element(
        "testsuite",
        name=f"redrive {rep.session_id}",
        tests=str(len(rep.steps)),
        failures=str(len(bad)),
        skipped=str(sum(1 for s in rep.steps if s.status == SKIPPED)),
        time=f"{rep.duration_ms / 1000:.3f}",
        timestamp=rep.started,
    )
    for s in rep.steps:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"redrive.{rep.session_id}",
            name=f"step {s.index:03d}: {s.text}",
            time=f"{s.duration_ms / 1000:.3f}",
        )
        if s.status == SKIPPED:
            ET.SubElement(case, "skipped", message="; ".join(s.divergences))
        elif s.status != MATCH:
            fail = ET.SubElement(case, "failure", message=s.status, type=s.status)
            fail.text = "\n".join(s.divergences)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(rep: RedriveReport, path: Path) -> None:
    """The JUnit XML file."""
    path.write_text(junit_xml(rep), "utf-8")


_CSS = """body{font:14px system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:4px 8px;
text-align:left;vertical-align:top}.match{color:#176f2c}.diverged,.needs-value{color:#b00020}
.skipped{color:#777}ul{margin:0;padding-left:1.2em}code{font-size:12px}
.shots{display:flex;gap:8px}.shots figure{margin:0;flex:1}.shots img{width:100%;
border:1px solid #ccc}figcaption{font-size:12px;color:#555}"""


def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def _shots(s: StepResult) -> str:
    """Original, re-driven and diff side by side (nothing when no screen was compared)."""
    if s.screen is None:
        return ""
    pics = (
        ("original (recording)", s.screen.original),
        ("re-driven", s.screen.redriven),
        (f"diff: {(s.pixel_ratio or 0) * 100:.2f} % of pixels", png(s.screen.diff.image)),
    )
    figs = "".join(
        f"<figure><img alt='{html.escape(c)}' src='{_data_url(d)}'>"
        f"<figcaption>{html.escape(c)}</figcaption></figure>"
        for c, d in pics
    )
    return f"<tr><td></td><td colspan='5'><div class='shots'>{figs}</div></td></tr>"


def _row(s: StepResult) -> str:
    e = html.escape
    reqs = ", ".join(f"{r['method']} {r['path']} → {r['status']}" for r in s.requests)
    why = "".join(f"<li>{e(d)}</li>" for d in s.divergences)
    why += "".join(f"<li class='note'>note: {e(n)}</li>" for n in s.notes)
    why += "".join(f"<li>unmatched (aborted): {e(u)}</li>" for u in s.unmatched)
    why += "".join(f"<li>answered with a partial body: {e(u)}</li>" for u in s.partial)
    cls = s.status.replace(" ", "-")
    return (
        f"<tr><td>{s.index}</td><td class='{cls}'>{e(s.status)}</td><td>{e(s.text)}"
        f"{' <em>(done by the step before)</em>' if s.follows else ''}</td>"
        f"<td>{e(s.strategy)}</td><td><code>{e(reqs)}</code></td>"
        f"<td><ul>{why}</ul></td></tr>{_shots(s)}"
    )


def _modes(rep: RedriveReport) -> str:
    m = rep.modes
    parts = [f"speed {m.get('speed', 'asap')}"]
    if m.get("stub_network"):
        parts.append("network stubbed from the recording")
    return ", ".join(parts)


def report_html(rep: RedriveReport) -> str:
    """The HTML step list."""
    e = html.escape
    counts = ", ".join(f"{n} {k}" for k, n in sorted(rep.counts().items()))
    head = "".join(
        f"<th>{h}</th>" for h in ("#", "status", "step", "found by", "requests", "divergences")
    )
    rows = "\n".join(_row(s) for s in rep.steps)
    verdict = "every step matches" if not rep.divergent else f"{len(rep.divergent)} divergent"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Re-drive of {e(rep.session_id)}</title><style>{_CSS}</style></head><body>"
        f"<h1>Re-drive of {e(rep.session_id)}</h1>"
        f"<p>Against {e(rep.base_url)}, started {e(rep.started)}: {e(verdict)} ({e(counts)}).</p>"
        + (f"<p>Recorded as session {e(rep.redrive_session)}.</p>" if rep.redrive_session else "")
        + (f"<p>Modes: {e(_modes(rep))}.</p>" if rep.modes else "")
        + f"<table><thead><tr>{head}</tr></thead><tbody>\n{rows}\n</tbody></table>"
        "</body></html>\n"
    )


def write_outputs(rep: RedriveReport, out: Path) -> None:
    """``report.json``, ``junit.xml`` and ``report.html`` in ``out`` (created)."""
    out.mkdir(parents=True, exist_ok=True)
    write_json(rep, out / "report.json")
    write_junit(rep, out / "junit.xml")
    (out / "report.html").write_text(report_html(rep), "utf-8")
