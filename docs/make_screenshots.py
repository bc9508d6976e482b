"""Make docs/playground.png and docs/report.png: the playground after a run, and that run's report.

Starts `rsilab serve` on 127.0.0.1 with a temporary store, drives Debian's chromium with
playwright, and writes small palette PNGs (Pillow, which matplotlib already needs).

    .venv/bin/python docs/make_screenshots.py
"""
from __future__ import annotations

import io
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

DOCS = Path(__file__).resolve().parent


def save_small(png: bytes, path: Path) -> None:
    img = Image.open(io.BytesIO(png)).convert("RGB")
    img.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    print(f"{path}: {path.stat().st_size / 1e3:.0f} kB")


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen([sys.executable, "-m", "rsilab.cli", "serve", "--store", f"{tmp}/s.sqlite"],
                                stdout=subprocess.PIPE, text=True)
        url = proc.stdout.readline().split()[2]
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": 1100, "height": 1250})
                page.goto(url)
                page.wait_for_selector("body[data-ready='1']")
                page.select_option("#preset", "criticality-continuous")
                page.wait_for_function("window.rsilabPage.state.name === 'criticality-continuous'")
                page.fill("#sim-n_samples", "20000")
                page.click("#run")
                page.wait_for_function("window.rsilabPage.state.last", timeout=120_000)
                page.click("#keep-a")
                page.fill("#arg-p-low", "0.9")
                page.click("#run")
                page.wait_for_function("window.rsilabPage.state.last.data.run.id === 2", timeout=120_000)
                page.click("#keep-b")
                page.wait_for_timeout(500)
                save_small(page.screenshot(), DOCS / "playground.png")
                report = browser.new_page(viewport={"width": 1100, "height": 1250})
                report.goto(f"{url}api/runs/2/report")
                report.wait_for_function("document.getElementById('rsi-fan').data")
                save_small(report.screenshot(), DOCS / "report.png")
                browser.close()
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
