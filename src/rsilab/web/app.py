"""The playground's Starlette app: the page, its static files and the JSON API under /api.

Every request that carries a scenario goes through the engine's parser (``parse_request``); a
malformed, oversized or invalid request gets HTTP 400 with the engine's one-line message and
the field it names. Anything else that fails answers 500 with one line and no traceback (the
traceback goes to the server's log), so the server never dies on a request. A run is the
library's one forecast call (``rsilab.api.forecast``), recorded in the store as ``rsilab
simulate`` records one, one at a time in a worker thread, so the page and the API stay
responsive. A scenario edited from a preset is recorded under a name that says so ("default, r
edited"). Opening a permalink shows the stored run of its scenario where there is one (same
scenario, same rsilab: the same numbers) instead of recording the run again. Imports the
library only.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from rsilab.errors import ConfigError, RsilabError
from rsilab.web.scenarios import (PERMALINK_VERSION, compact, decode_permalink, edited_name, encode_permalink,
                                  file_name, parse_request, to_toml)

MAX_BODY_BYTES = 1 << 20  # 1 MiB: a scenario with an empirical prior of ~50,000 samples fits
LOG = logging.getLogger("rsilab.web")
STATIC = {"app.js": "application/javascript", "app.css": "text/css", "index.html": "text/html"}


def _error(exc: Exception, status: int = 400) -> JSONResponse:
    field = getattr(exc, "field", None)
    return JSONResponse({"error": str(exc), "field": field}, status_code=status)


async def _body(request: Request) -> Any:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        raise ConfigError("request", f"{declared} bytes", f"a body of at most {MAX_BODY_BYTES:,} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise ConfigError("request", f"over {MAX_BODY_BYTES:,} bytes", f"a body of at most {MAX_BODY_BYTES:,} bytes")
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks).decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ConfigError("request", "body", f"a JSON object ({type(exc).__name__})") from None


def _run_id(request: Request) -> int:
    raw = request.path_params["run_id"]
    if not raw.isdigit() or len(raw) > 18:
        raise ConfigError("run", raw, "a run id (a whole number, see /api/runs)")
    return int(raw)


def _scenario_from_query(request: Request):
    return parse_request(decode_permalink(request.query_params.get("v"), request.query_params.get("s")))


def create_app(store_path: str | Path | None = None) -> Starlette:
    """The app; ``store_path`` is the store runs are recorded in (default as the CLI's)."""
    from rsilab.store import Store

    run_lock = threading.Lock()  # one Monte Carlo at a time: the machine's cores are its budget

    def store() -> Store:
        return Store(store_path)

    async def page(request: Request) -> Response:
        return HTMLResponse(resources.files("rsilab.web").joinpath("static", "index.html").read_text(encoding="utf-8"))

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name == "plotly.min.js":
            from rsilab.report.html import plotly_js

            return Response(plotly_js(), media_type="application/javascript")
        if name == "charts.js":
            text = resources.files("rsilab.report").joinpath("html_charts.js").read_text(encoding="utf-8")
            return Response(text, media_type="application/javascript")
        if name not in STATIC:
            return PlainTextResponse("not found", status_code=404)
        text = resources.files("rsilab.web").joinpath("static", name).read_text(encoding="utf-8")
        return Response(text, media_type=STATIC[name])

    async def presets(request: Request) -> Response:
        from rsilab.simulate.scenario import load_preset, preset_names

        rows = []
        for name in preset_names():
            sc = load_preset(name)
            rows.append({"name": name, "model": sc.model.name, "title": sc.meta.get("title", "")})
        return JSONResponse(rows)

    def describe(scenario) -> dict[str, Any]:
        from rsilab.report.html import json_safe, parameter_table
        from rsilab.simulate.priors import DISTRIBUTIONS, OPTIONAL_FIELDS

        data = compact(scenario)
        return json_safe({"name": scenario.name, "label": edited_name(scenario), "file_name": file_name(scenario),
                          "scenario": data, "parameters": parameter_table(data),
                          "distributions": {k: {"required": list(v), "optional": list(OPTIONAL_FIELDS.get(k, ()))}
                                            for k, v in DISTRIBUTIONS.items()},
                          "permalink": {"v": PERMALINK_VERSION, "s": encode_permalink(scenario.name, data)}})

    async def preset(request: Request) -> Response:
        from rsilab.simulate.scenario import load_preset

        return JSONResponse(describe(load_preset(request.path_params["name"])))

    async def validate(request: Request) -> Response:
        return JSONResponse(dict(describe(parse_request(await _body(request))), ok=True))

    async def permalink(request: Request) -> Response:
        return JSONResponse(describe(_scenario_from_query(request)))

    def simulate_and_record(scenario, reuse: bool) -> dict[str, Any]:
        """The report dict of a run of ``scenario``: a new recorded run, or with ``reuse`` the
        newest stored run of exactly this scenario by this rsilab where there is one (the run
        is deterministic: the same numbers), so that opening a permalink again records nothing."""
        from dataclasses import replace

        from rsilab.api import forecast
        from rsilab.report.html import ENSEMBLE_KINDS, report_data

        named = replace(scenario, name=edited_name(scenario))
        with run_lock:  # the look-up too: two visits of one new link at once record it once
            run_id = None
            if reuse:
                with store() as st:
                    run_id = st.find_run(ENSEMBLE_KINDS, named.to_dict(), with_arrays=True)
            reused = run_id is not None
            if run_id is None:
                run_id = forecast(named, record=True, store=store_path, kind="simulate").run_id
        with store() as st:
            data = report_data(st, run_id)
        data["reused"] = reused
        data["permalink"] = {"v": PERMALINK_VERSION, "s": encode_permalink(scenario.name, compact(scenario))}
        return data

    async def run(request: Request) -> Response:
        scenario = parse_request(await _body(request))
        reuse = request.query_params.get("reuse") == "1"
        from rsilab.report.html import json_safe

        return JSONResponse(json_safe(await run_in_threadpool(simulate_and_record, scenario, reuse)))

    async def scenario_toml(request: Request) -> Response:
        scenario = _scenario_from_query(request)
        data = compact(scenario)
        # the file keeps the name the run was recorded under: `rsilab simulate FILE` records it so too
        data["meta"] = {"name": edited_name(scenario), **{k: v for k, v in data["meta"].items() if k != "name"}}
        return PlainTextResponse(to_toml(data), media_type="application/toml",
                                 headers={"Content-Disposition": f'attachment; filename="{file_name(scenario)}.toml"'})

    async def runs(request: Request) -> Response:
        from rsilab.report.text import headline

        with store() as st:
            records = st.list_runs(limit=200)
        return JSONResponse([{"id": r.id, "kind": r.kind, "name": r.name, "seed": r.seed, "status": r.status,
                              "created_at": time.strftime("%Y-%m-%d %H:%M", time.gmtime(r.created_at)),
                              "n_samples": r.summary.get("n_samples"), "method": r.summary.get("method"),
                              "headline": headline(r.summary),
                              "regime_probabilities": r.summary.get("regime_probabilities")} for r in records])

    async def run_report(request: Request) -> Response:
        from rsilab.report.html import render_html, report_data

        run_id = _run_id(request)
        with store() as st:
            data = report_data(st, run_id)
        return HTMLResponse(await run_in_threadpool(render_html, data))

    async def run_json(request: Request) -> Response:
        run_id = _run_id(request)
        with store() as st:
            rec = st.get_run(run_id)
        from rsilab.report.html import json_safe

        return JSONResponse(json_safe({"run_id": rec.id, "kind": rec.kind, "name": rec.name, "summary": rec.summary,
                                       "config": rec.config}),
                            headers={"Content-Disposition": f'attachment; filename="run-{run_id}.json"'})

    async def run_csv(request: Request) -> Response:
        run_id = _run_id(request)

        def build() -> str:
            with store() as st:  # a connection belongs to the thread that opened it
                return results_csv(st, run_id)

        text = await run_in_threadpool(build)
        return Response(text, media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="run-{run_id}.csv"'})

    async def on_error(request: Request, exc: Exception) -> Response:
        if isinstance(exc, RsilabError):
            status = 404 if "is not in store" in str(exc) else 400
            return _error(exc, status)
        LOG.exception("request %s %s failed", request.method, request.url.path)
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the server's log has the details",
                             "field": None}, status_code=500)

    async def not_found(request: Request, exc: Exception) -> Response:
        code = getattr(exc, "status_code", 404)
        return JSONResponse({"error": f"{request.method} {request.url.path}: {getattr(exc, 'detail', 'not found')}",
                             "field": None}, status_code=code)

    async def no_icon(request: Request) -> Response:
        return Response(status_code=204)

    routes = [
        Route("/", page), Route("/static/{name}", static), Route("/favicon.ico", no_icon),
        Route("/api/presets", presets), Route("/api/presets/{name}", preset),
        Route("/api/validate", validate, methods=["POST"]), Route("/api/run", run, methods=["POST"]),
        Route("/api/permalink", permalink), Route("/api/scenario.toml", scenario_toml),
        Route("/api/runs", runs), Route("/api/runs/{run_id}/report", run_report),
        Route("/api/runs/{run_id}/results.json", run_json), Route("/api/runs/{run_id}/results.csv", run_csv),
    ]
    return Starlette(routes=routes, exception_handlers={Exception: on_error, RsilabError: on_error,
                                                        404: not_found, 405: not_found})


def results_csv(store, run_id: int) -> str:
    """One row per sample from the run's stored arrays (``rsilab.report.samples``: the columns of
    ``Forecast.to_pandas``); numbers with the digits the store keeps, empty for none."""
    from rsilab.errors import StoreError
    from rsilab.report.samples import outcome_table, sample_table, table_csv
    from rsilab.store.ensembles import OUTCOMES_FORMAT, decode_arrays

    rec = store.get_run(run_id)
    kept = store.run_arrays(run_id)
    if kept is None:
        raise StoreError(f"run {run_id} ({rec.kind} {rec.name!r}) has no per-sample outcomes in the store")
    if kept[0] == OUTCOMES_FORMAT:
        return table_csv(outcome_table(decode_arrays(kept[1])))
    return table_csv(sample_table(decode_arrays(kept[1]), rec.summary.get("regime_phase", "late")))
