"""The committed recorder bundle matches its sources, and the agent refuses a mismatched one."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from agent.capture.bundle import (
    BUNDLE_DIR,
    RECORDER_JS_DIR,
    REPLAY_DIR,
    expected_version,
    injection_source,
    load_bundle,
    sha256_file,
    sources_sha256,
)
from agent.errors import CaptureError


def _meta() -> dict[str, str]:
    meta: dict[str, str] = json.loads((BUNDLE_DIR / "bundle.json").read_text(encoding="utf-8"))
    return meta


def test_committed_bundle_was_built_from_the_committed_sources() -> None:
    """sources_sha256 recomputed from recorder_js/ equals bundle.json (rebuild after edits)."""
    assert _meta()["sources_sha256"] == sources_sha256(RECORDER_JS_DIR), (
        "recorder_js/ changed since the bundle was built: run python recorder_js/build.py"
    )


def test_built_files_match_the_hashes_in_bundle_json() -> None:
    """recorder.js, rrweb-replay.js and its CSS are the bytes bundle.json names."""
    meta = _meta()
    assert sha256_file(BUNDLE_DIR / "recorder.js") == meta["recorder_sha256"]
    assert sha256_file(REPLAY_DIR / "rrweb-replay.js") == meta["replay_sha256"]
    assert sha256_file(REPLAY_DIR / "rrweb-replay.css") == meta["replay_css_sha256"]


def test_versions_agree_across_package_json_bundle_and_expected_version() -> None:
    """package.json's version is the bundle's and the one the agent expects; rrweb is pinned."""
    pkg = json.loads((RECORDER_JS_DIR / "package.json").read_text(encoding="utf-8"))
    assert pkg["version"] == _meta()["version"] == expected_version()
    assert pkg["dependencies"]["rrweb"] == _meta()["rrweb"] == "2.2.2"
    for spec in [*pkg["dependencies"].values(), *pkg["devDependencies"].values()]:
        assert spec[0].isdigit(), f"unpinned dependency {spec}"


def test_recorder_sources_pass_eslint_with_zero_warnings() -> None:
    """`npm run lint` in recorder_js/ exits 0 (ESLint recommended rules, no warnings)."""
    if not (RECORDER_JS_DIR / "node_modules" / ".bin" / "eslint").exists():
        pytest.skip("ESLint not installed: run `npm ci` in recorder_js/ (.ci/setup.sh does)")
    npm = shutil.which("npm")
    if npm is None:
        pytest.skip("npm not on PATH")
    proc = subprocess.run(
        [npm, "run", "--silent", "lint"],
        cwd=RECORDER_JS_DIR,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_load_bundle_returns_the_recorder_source_and_its_meta() -> None:
    """A consistent bundle loads, with the functions the agent calls in the isolated world."""
    source, meta = load_bundle()
    assert meta["version"] == expected_version()
    assert "__ST_CFG" in source and "__st_rescanStyles" in source


def _copy_bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(BUNDLE_DIR, target)
    return target


def test_load_bundle_refuses_a_tampered_recorder(tmp_path: Path) -> None:
    """One changed byte in recorder.js: the agent refuses to inject it."""
    d = _copy_bundle(tmp_path)
    js = d / "recorder.js"
    js.write_text(js.read_text(encoding="utf-8") + "\n;void 0;", encoding="utf-8")
    with pytest.raises(CaptureError, match="does not match bundle.json"):
        load_bundle(d)


def test_load_bundle_refuses_a_bundle_of_another_version(tmp_path: Path) -> None:
    """A consistent bundle of a version the agent does not pin is refused too."""
    d = _copy_bundle(tmp_path)
    meta = json.loads((d / "bundle.json").read_text(encoding="utf-8"))
    meta["version"] = "9.9.9"
    (d / "bundle.json").write_text(json.dumps(meta), encoding="utf-8")
    with pytest.raises(CaptureError, match="9.9.9"):
        load_bundle(d)


def test_load_bundle_refuses_a_missing_bundle(tmp_path: Path) -> None:
    """No bundle at all is a CaptureError, not a crash."""
    with pytest.raises(CaptureError, match="unreadable"):
        load_bundle(tmp_path)


def test_injection_source_puts_the_config_before_the_bundle() -> None:
    """The injected source is one config line then the bundle; a binding name is required."""
    src = injection_source({"binding": "__st_abc", "flushMs": 100}, "BUNDLE")
    assert src == 'globalThis.__ST_CFG = {"binding":"__st_abc","flushMs":100};\nBUNDLE'
    with pytest.raises(CaptureError, match="binding"):
        injection_source({}, "BUNDLE")
