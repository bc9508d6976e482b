"""Helpers for the web tests: a real `rsilab serve` on 127.0.0.1 and a free port, and chromium.

Not a test module. The server runs as its own process, exactly as a user starts it, and is
stopped with SIGINT (Ctrl-C) so that every test also checks that it stops cleanly."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import skip_or_fail

CHROMIUM = "/usr/bin/chromium"
# fields of a run's summary that differ between two runs of the same scenario and seed
VARIES = ("timings_seconds", "run_id")
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # 127.0.0.1 only, never a proxy


class Server:
    def __init__(self, store: Path):
        self.store = store
        self.proc = subprocess.Popen([sys.executable, "-m", "rsilab.cli", "serve", "--port", "0", "--store", str(store)],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # the URL line, printed once the port is bound
        if "http://127.0.0.1:" not in line:
            self.proc.kill()
            raise AssertionError(f"serve printed {line!r}; stderr: {self.proc.stderr.read()}")
        self.url = line.split()[2].rstrip("/")

    def request(self, path: str, body: bytes | None = None, method: str | None = None,
                headers: dict | None = None) -> tuple[int, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with _DIRECT.open(req, timeout=120) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def json(self, path: str, obj=None):
        status, body = self.request(path, None if obj is None else json.dumps(obj).encode(),
                                    headers={"Content-Type": "application/json"})
        return status, json.loads(body)

    def stop(self) -> tuple[int, str, str]:
        """Ctrl-C, as a user stops it; returns (exit code, stdout, stderr)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            out, err = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, err = self.proc.communicate()
            raise AssertionError(f"serve did not stop within 30 s of SIGINT; stderr: {err}")
        return self.proc.returncode, out, err


def start_server(tmp_path_factory) -> Server:
    return Server(tmp_path_factory.mktemp("web") / "store.sqlite")


def stop_cleanly(server: Server) -> None:
    code, out, err = server.stop()
    assert code == 0, f"serve exited {code} on Ctrl-C; stderr: {err[-2000:]}"
    assert "stopped" in out
    assert "Traceback" not in err, err[-4000:]


def need_browser(chromium: str | None = None):
    """playwright's sync API with Debian's chromium; under CI=true their absence is a failure."""
    missing = None
    try:
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError:
        missing = "the playwright package (pip install 'rsilab[test]')"
    chromium = chromium or CHROMIUM
    if missing is None and not Path(chromium).exists():
        missing = f"Debian's chromium at {chromium} (apt-get install chromium)"
    if missing:
        skip_or_fail(f"browser tests need {missing}")
    from playwright.sync_api import sync_playwright

    return sync_playwright


def wait_until(predicate, timeout: float = 60.0, what: str = "condition"):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def cli_simulate_json(*args: str) -> dict:
    """``rsilab simulate ARGS --json`` as a user runs it, without the fields in ``VARIES``."""
    out = subprocess.run([sys.executable, "-m", "rsilab.cli", "simulate", *args, "--json"], capture_output=True,
                         text=True, check=True).stdout
    return {k: v for k, v in json.loads(out).items() if k not in VARIES}
