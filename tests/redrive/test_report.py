"""The re-drive's outputs: JUnit XML counts failures and skips per step; the HTML step list is
self-contained and escapes what pages said."""

from __future__ import annotations

import json
from xml.etree import ElementTree as ET

from agent.redrive.report import junit_xml, report_html
from agent.redrive.result import MATCH, NEEDS_VALUE, SKIPPED, RedriveReport, StepResult


def _report() -> RedriveReport:
    ok = StepResult(1, 10, "click", "clicked button 'Go'", strategy="id")
    bad = StepResult(2, 20, "click", "clicked button '<b>Send</b>'")
    bad.diverge("POST /api/orders: 5xx, recorded 2xx")
    bad.diverge("new console error: <script>x</script>")
    need = StepResult(3, 30, "type", "typed [redacted] into 'PIN'")
    need.diverge("needs value: no --fill entry for 'PIN'", NEEDS_VALUE)
    up = StepResult(4, 40, "upload", "uploaded a.pdf", status=SKIPPED)
    return RedriveReport("S1", "https://stg", [ok, bad, need, up], "2026-12-06T10:00:00Z", 1500)


def test_junit_has_a_case_per_step_failures_for_divergences_and_skips() -> None:
    rep = _report()
    suite = ET.fromstring(junit_xml(rep).split("?>", 1)[1])
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "2", "1")
    cases = suite.findall("testcase")
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None
    fail = cases[1].find("failure")
    assert fail is not None and fail.text == (
        "POST /api/orders: 5xx, recorded 2xx\nnew console error: <script>x</script>"
    )
    need = cases[2].find("failure")
    assert need is not None and need.get("type") == NEEDS_VALUE
    assert cases[3].find("skipped") is not None
    assert rep.exit_code == 1 and rep.counts() == {MATCH: 1, "diverged": 1, NEEDS_VALUE: 1,
                                                   SKIPPED: 1}  # fmt: skip


def test_html_escapes_page_text_and_loads_nothing() -> None:
    page = report_html(_report())
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<b>Send</b>" not in page
    assert "src=" not in page and "href=" not in page
    assert "2 divergent" in page


def test_html_inlines_the_three_pictures_of_a_compared_step() -> None:
    """Original, re-driven and diff are data: PNGs next to the step; nothing else loads."""
    import re

    from PIL import Image

    from agent.redrive.pixels import compare, png
    from agent.redrive.screens import Probe, Screen

    a, b = Image.new("RGB", (8, 4), (255, 255, 255)), Image.new("RGB", (8, 4), (0, 0, 0))
    probe = Probe([], "Go", "Go", (8, 4))
    rep = _report()
    rep.steps[0].screen = Screen(png(a), png(b), compare(a, b, []), probe, probe)
    rep.steps[0].pixel_ratio = 1.0
    page = report_html(rep)
    srcs = re.findall(r"src='([^']*)'", page)
    assert len(srcs) == 3 and all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "diff: 100.00 % of pixels" in page and "href=" not in page
    assert "screen" not in json.dumps(rep.as_dict()["steps"][0])
    assert rep.as_dict()["version"] == 2 and rep.as_dict()["steps"][0]["pixel_ratio"] == 1.0
