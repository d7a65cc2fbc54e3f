"""A real browser (headless Chromium) opens a report from disk: figures drawn, no JavaScript errors.

Skipped where Chromium is not installed, unless INAS_REQUIRE_BROWSER=1 (set by .ci/run, which installs it).
"""

import os
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from inas.cli import app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
# Flags for a machine with no network and no screen (see the env notes: background networking off).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
]
# Put before the page's own scripts: records uncaught errors and console.error calls into the DOM.
CATCHER = """<script>
window.__errors = [];
window.addEventListener("error", e => window.__errors.push(String(e.message)));
const __err = console.error; console.error = (...a) => { window.__errors.push(a.join(" ")); __err(...a); };
window.addEventListener("load", () => setTimeout(() => {
  const n = document.querySelectorAll(".js-plotly-plot .main-svg").length;
  document.body.setAttribute("data-plots", String(n));
  document.body.setAttribute("data-errors", JSON.stringify(window.__errors));
}, 3000));
</script>"""


@pytest.mark.skipif(
    CHROMIUM is None and os.environ.get("INAS_REQUIRE_BROWSER") != "1", reason="Chromium is not installed"
)
def test_report_renders_in_chromium_without_errors(study_dir, tmp_path):
    assert CHROMIUM, "INAS_REQUIRE_BROWSER=1 but no chromium on PATH"
    assert CliRunner().invoke(app, ["report", "demo"]).exit_code == 0
    page = (study_dir / "dashboards" / "demo.html").read_text()
    figures = page.count('class="plotly-graph-div"')
    probe = study_dir / "probe.html"
    probe.write_text(page.replace("<head>", "<head>" + CATCHER, 1))
    dom = subprocess.run(
        [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probe.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    )
    body = re.search(r"<body[^>]*>", dom.stdout)
    assert body, dom.stderr[-2000:]
    plots = re.search(r'data-plots="(\d+)"', body.group(0))
    errors = re.search(r'data-errors="([^"]*)"', body.group(0))
    assert plots and errors, f"the page's scripts did not finish: {body.group(0)[:300]}"
    assert figures == 6 and int(plots.group(1)) >= figures  # every figure drew its SVG
    assert errors.group(1) == "[]", errors.group(1)
    assert "Uncaught" not in dom.stderr
