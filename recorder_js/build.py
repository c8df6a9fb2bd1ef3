"""Build the recorder bundle and the rrweb replayer bundle from recorder_js/ (one script).

    python recorder_js/build.py            # npm ci when needed, esbuild, write bundle.json

Outputs: agent/capture/bundle/recorder.js + bundle.json, agent/replay/static/rrweb-replay.js
+ rrweb-replay.css. esbuild output is deterministic, so a rebuild of unchanged sources gives
the same bytes (tests/capture/test_bundle.py checks the committed bundle matches its sources).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO))

from agent.capture.bundle import (  # noqa: E402  (path set up above)
    BUNDLE_DIR,
    REPLAY_DIR,
    sha256_file,
    sources_sha256,
)


def npm_ci_if_needed() -> None:
    """Run ``npm ci`` unless node_modules matches package-lock.json already."""
    marker = HERE / "node_modules" / ".package-lock.json"
    lock = HERE / "package-lock.json"
    esbuild = HERE / "node_modules" / ".bin" / "esbuild"
    if marker.exists() and esbuild.exists() and marker.stat().st_mtime >= lock.stat().st_mtime:
        return
    subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)


def esbuild(entry: str, out: Path, version: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [str(HERE / "node_modules" / ".bin" / "esbuild"), entry, "--bundle", "--format=iife",
         "--target=chrome100", "--minify", "--legal-comments=eof", "--charset=utf8",
         f"--define:__ST_VERSION__={json.dumps(version)}", f"--outfile={out}",
         "--log-level=warning"],
        cwd=HERE, check=True)


def main() -> int:
    pkg = json.loads((HERE / "package.json").read_text(encoding="utf-8"))
    version = str(pkg["version"])
    npm_ci_if_needed()
    recorder = BUNDLE_DIR / "recorder.js"
    replay = REPLAY_DIR / "rrweb-replay.js"
    css = REPLAY_DIR / "rrweb-replay.css"
    esbuild("src/recorder.js", recorder, version)
    esbuild("src/replay.js", replay, version)
    shutil.copyfile(HERE / "node_modules" / "rrweb" / "dist" / "style.css", css)
    rrweb_version = json.loads(
        (HERE / "node_modules" / "rrweb" / "package.json").read_text(encoding="utf-8"))["version"]
    meta = {
        "version": version,
        "rrweb": rrweb_version,
        "sources_sha256": sources_sha256(HERE),
        "recorder_sha256": sha256_file(recorder),
        "replay_sha256": sha256_file(replay),
        "replay_css_sha256": sha256_file(css),
    }
    (BUNDLE_DIR / "bundle.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({"recorder_bytes": recorder.stat().st_size,
                      "replay_bytes": replay.stat().st_size, **meta}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
