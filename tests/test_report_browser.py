"""The HTML report renders in headless Chromium and shows its chart (marker: browser)."""

import shutil
import subprocess

import pandas as pd
import pytest

from model.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="apt-get install chromium")]


def test_report_renders_with_chart(tmp_path, tiny_model_dir):
    rows = [{"date": f"2025-10-{d:02d}", "text": t} for d in range(1, 20)
            for t in ("we welcome the agreement", "we will impose a tariff")]
    pd.DataFrame(rows).to_csv(tmp_path / "q.csv", index=False)
    html = tmp_path / "report.html"
    assert main(["report", str(tmp_path / "q.csv"), "-o", str(html), "--model", str(tiny_model_dir)]) == 0
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", html.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    assert "<img id=\"chart\"" in dom and "The index, day by day" in dom
    # The chart must have decoded: its natural width is read by script in the page.
    probe = tmp_path / "probe.html"
    probe.write_text(html.read_text().replace(
        "</body>", "<script>window.onload=()=>{document.title='W'+"
                   "document.getElementById('chart').naturalWidth}</script></body>"))
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=120).stdout
    width = int(dom.split("<title>W")[1].split("<")[0])
    assert width > 500
    shot = tmp_path / "shot.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,900", html.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 10000
