"""``rsilab serve``: the local playground on 127.0.0.1 (needs the extra ``rsilab[web]``)."""
from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import click

from rsilab.cli.common import friendly_errors, store_option


@click.command(short_help="The local playground in the browser (needs rsilab[web]).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; the default keeps the playground on this machine.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
              help="Port to bind; 0 picks a free one (the URL is printed).")
@store_option
@friendly_errors
def serve(host: str, port: int, store_path: Path | None) -> None:
    """Serve the playground: edit a scenario's priors, run it, compare, share permalinks.
    Prints the URL; Ctrl-C stops it."""
    from rsilab.core.extras import require
    from rsilab.errors import ConfigError

    require("starlette", "rsilab serve")
    uvicorn = require("uvicorn", "rsilab serve")
    from rsilab.web.app import create_app
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError("--port", port, f"a free port on {host} ({exc.strerror})") from None
    sock.listen(128)  # connections queue from here on, so the printed URL answers at once
    bound = sock.getsockname()[1]
    url_host = f"[{host}]" if ":" in host else host
    config = uvicorn.Config(create_app(store_path), log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    warming = _start_warm_up()
    click.echo(f"rsilab playground: http://{url_host}:{bound}/  (Ctrl-C stops it)", err=False)
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn re-raises the Ctrl-C it handled once it has shut down: a clean stop
    finally:
        sock.close()
        warming.terminate()   # nothing to do if it is done
        warming.wait()
    click.echo("stopped")


# Every preset on a few samples, the page's first preset first: each compiled kernel a preset
# uses is compiled (or loaded from numba's cache, where it is done in a moment) and left in the
# cache, from which this server then loads it.
_WARM_UP = ("from rsilab.simulate.montecarlo import warm_up\n"
            "from rsilab.simulate.scenario import load_preset, preset_names\n"
            "warm_up(load_preset(name) for name in sorted(preset_names(), key=lambda name: name != 'default'))\n")


def _start_warm_up() -> subprocess.Popen:
    """A second process that compiles the presets' kernels while the page loads, so that a fresh
    install's first run does not wait for them: on another core, never holding this server's
    interpreter, and stopped with it."""
    return subprocess.Popen([sys.executable, "-c", _WARM_UP], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
