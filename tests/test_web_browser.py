"""The playground and the report in a real browser (Debian's chromium, driven by playwright).

Marked ``browser``; without playwright or chromium they skip, except under CI=true, where they
fail. The server is a real `rsilab serve` on 127.0.0.1 and a free port, stopped with Ctrl-C."""
from __future__ import annotations

import json
import struct
import subprocess
import sys

import pytest

from web_server import CHROMIUM, VARIES, cli_simulate_json, need_browser, start_server, stop_cleanly, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PRESET = "criticality-continuous"
SAMPLES = "2000"
# the comparison table shows 3 decimals: at most half a unit of the last digit off (a tie
# included, hence the factor just above 1)
SHOWN = 5e-4 * (1 + 1e-9)


@pytest.fixture(scope="module")
def browser():
    sync_playwright = need_browser()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = start_server(tmp_path_factory)
    yield srv
    stop_cleanly(srv)


@pytest.fixture
def page(browser, server):
    ctx = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    ctx.set_default_timeout(120_000)  # generous: the machine may be shared with a full test run
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # every request must go to the test's own server (or read a blob the page made itself: a
    # chart's PNG is handed to the download as one)
    outside: list[str] = []
    ours = (server.url + "/", "blob:" + server.url + "/")
    pg.on("request", lambda r: outside.append(r.url) if not r.url.startswith(ours) else None)
    pg.goto(server.url + "/")
    pg.wait_for_selector("body[data-ready='1']")
    yield pg
    ctx.close()
    assert not errors, errors
    assert not outside, outside


def choose(pg, preset=PRESET, samples=SAMPLES, seed=None):
    pg.select_option("#preset", preset)
    pg.wait_for_function(f"window.rsilabPage.state.name === {json.dumps(preset)}")
    pg.fill("#sim-n_samples", samples)
    if seed is not None:
        pg.fill("#sim-seed", str(seed))


def run(pg) -> dict:
    """Click Run and wait for this run's results; returns the page's report dict."""
    before = pg.evaluate("window.rsilabPage.state.last ? window.rsilabPage.state.last.data.run.id : 0")
    pg.click("#run")
    pg.wait_for_function(f"window.rsilabPage.state.last && window.rsilabPage.state.last.data.run.id > {before}",
                         timeout=120_000)
    return pg.evaluate("window.rsilabPage.state.last.data")


def fan_median(pg) -> list:
    return pg.evaluate("(() => { const d = document.getElementById('rsi-fan').data; return d[d.length - 1].y; })()")



def same_numbers(page_summary: dict) -> dict:
    return {k: v for k, v in page_summary.items() if k not in VARIES}


def test_changing_a_prior_changes_the_chart(page, server):
    choose(page)
    first = run(page)
    median_before = fan_median(page)
    assert median_before == first["charts"]["fan"]["quantiles"]["50"]
    page.fill("#arg-p-low", "1.1")  # only explosive returns now
    second = run(page)
    median_after = fan_median(page)
    assert median_after != median_before
    assert second["summary"]["regime_probabilities"]["explosion"] > first["summary"]["regime_probabilities"]["explosion"]
    # the page's runs are recorded in the store and listed
    ids = [r["id"] for r in server.json("/api/runs")[1]]
    assert first["run"]["id"] in ids and second["run"]["id"] in ids
    page.wait_for_selector(f"#runs a[href='/api/runs/{second['run']['id']}/report']")


def test_out_of_range_shows_the_engines_message_and_nothing_runs(page, server):
    from rsilab.errors import ConfigError
    from rsilab.simulate.scenario import load_preset

    choose(page)
    runs_before = server.json("/api/runs")[1]
    page.fill("#arg-p-low", "-20")
    page.click("#run")
    page.wait_for_function("document.getElementById('err-p').textContent.length > 0")
    shown = page.inner_text("#err-p")
    with pytest.raises(ConfigError) as engine:
        load_preset(PRESET).with_prior("p", {"dist": "uniform", "low": -20.0, "high": 1.5}, origin="x")
    assert shown == str(engine.value).removeprefix("x: ")
    page.wait_for_function("document.getElementById('status').textContent.startsWith('not run')")
    assert page.evaluate("window.rsilabPage.state.last") is None
    assert server.json("/api/runs")[1] == runs_before


def open_link(browser, url: str) -> dict:
    """Open a permalink in a new page; the report dict it shows."""
    other = browser.new_page()
    other.goto(url)
    other.wait_for_selector("body[data-ready='1']", timeout=120_000)
    shown = other.evaluate("window.rsilabPage.state.last.data")
    other.close()
    return shown


def test_permalink_reproduces_the_cli_numbers(page, browser, server, tmp_path):
    choose(page, seed=17)
    page.fill("#arg-p-high", "1.3")
    ran = run(page)
    link = page.get_attribute("#permalink", "href")
    assert link.startswith("/?v=1&s=")
    runs_before = server.json("/api/runs")[1]
    first = open_link(browser, server.url + link)   # opening the link shows the run of the scenario it holds
    again = open_link(browser, server.url + link)
    opened = first["summary"]
    # the scenario was run already (above): both visits show that stored run, and record nothing
    assert first["run"]["id"] == again["run"]["id"] == ran["run"]["id"] and first["reused"] and again["reused"]
    assert server.json("/api/runs")[1] == runs_before
    scenario = tmp_path / "link.toml"
    scenario.write_text(  # the same scenario, written by hand
        '[model]\nname = "criticality"\nform = "continuous"\n'
        '[params]\nc = { dist = "loguniform", low = 0.1, high = 1.0 }\np = { dist = "uniform", low = 0.5, high = 1.3 }\n'
        '[simulation]\nn_samples = 2000\nhorizon_years = 20\nseed = 17\n'
        '[thresholds]\ncapability_multiples = [10, 1000]\n')
    from_cli = cli_simulate_json(str(scenario), "--store", str(tmp_path / "cli.sqlite"))
    page_numbers = same_numbers(opened)
    page_numbers.pop("scenario")
    from_cli.pop("scenario")
    assert page_numbers == from_cli


def test_downloaded_toml_runs_with_the_cli(page, tmp_path):
    choose(page, seed=5)
    page.select_option("select.dist[data-name='c']", "triangular")
    page.fill("#arg-c-mode", "0.2")
    data = run(page)
    with page.expect_download() as dl:
        page.click("#dl-toml")
    path = tmp_path / dl.value.suggested_filename  # the name the page offers: the scenario's, with the edit
    assert path.name == f"{PRESET}-c-edited.toml" and data["run"]["name"] == f"{PRESET}, c edited"
    dl.value.save_as(path)
    from_cli = cli_simulate_json(str(path), "--store", str(tmp_path / "cli.sqlite"))
    assert same_numbers(data["summary"]) == from_cli and from_cli["scenario"] == f"{PRESET}, c edited"
    with page.expect_download() as dl:
        page.click("#dl-json")
    saved = tmp_path / "run.json"
    dl.value.save_as(saved)
    assert json.loads(saved.read_text())["summary"] == data["summary"]
    with page.expect_download() as dl:
        page.click("#dl-csv")
    saved = tmp_path / "run.csv"
    dl.value.save_as(saved)
    assert len(saved.read_text().splitlines()) == 1 + int(SAMPLES)


def test_compare_two_scenarios_headline_first(page):
    choose(page)
    ra = run(page)
    page.click("#keep-a")
    page.fill("#arg-p-low", "1.0")
    rb = run(page)
    page.click("#keep-b")
    page.wait_for_selector("#compare-rows")
    a, b = ra["summary"], rb["summary"]
    # the two sides carry their names: the preset, and the preset with what was edited
    head = page.locator("#compare-rows thead th").all_inner_texts()
    assert head[1] == f"A: {PRESET} (run {ra['run']['id']})" and head[2] == f"B: {PRESET}, p edited (run {rb['run']['id']})"
    rows = page.locator("#compare-rows tbody tr").evaluate_all("rs => rs.map(r => r.dataset.output)")
    assert rows[0] == "P(explosive at some point)"   # the headline leads
    expected = {"P(explosive at some point)": (a["takeoff"]["p_explosive"], b["takeoff"]["p_explosive"])}
    expected.update({f"P({r}, late)": (a["regime_probabilities"][r], b["regime_probabilities"][r]) for r in ("explosion", "fizzle")})
    for output, (va, vb) in expected.items():
        cells = page.locator(f"#compare-rows tr[data-output='{output}'] td").all_inner_texts()
        assert float(cells[1]) == pytest.approx(va, abs=SHOWN)
        assert float(cells[2]) == pytest.approx(vb, abs=SHOWN)
        assert float(cells[3]) == pytest.approx(vb - va, abs=SHOWN)
    assert a["takeoff"]["p_explosive"] != b["takeoff"]["p_explosive"]   # the compared figure moved
    traces = page.evaluate("document.getElementById('compare-chart').data.map(t => ({x: t.x, y: t.y}))")
    regimes = ("explosion", "combustion", "fizzle", "ceiling")
    x = ["explosive at some point"] + [f"ends {r}" for r in regimes]
    assert traces == [{"x": x, "y": [s["takeoff"]["p_explosive"]] + [s["regime_probabilities_by_phase"]["late"][r]
                                                                     for r in regimes]} for s in (a, b)]


def test_report_opens_offline_from_file(browser, tmp_path):
    store = tmp_path / "s.sqlite"
    out = tmp_path / "report.html"
    printed = json.loads(subprocess.run(
        [sys.executable, "-m", "rsilab.cli", "simulate", "--preset", "controlled", "--samples", "1000", "--json",
         "--report", str(out), "--store", str(store)], capture_output=True, text=True, check=True).stdout)
    ctx = browser.new_context()
    blocked: list[str] = []

    def refuse(route):
        blocked.append(route.request.url)
        route.abort()

    ctx.route(lambda url: not url.startswith("file://"), refuse)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("request", lambda r: blocked.append(r.url) if not r.url.startswith("file://") else None)
    pg.goto(out.as_uri())
    pg.wait_for_function("document.getElementById('rsi-fan') && document.getElementById('rsi-fan').data")
    embedded = pg.evaluate("JSON.parse(document.getElementById('rsilab-data').textContent)")
    drawn = pg.evaluate("['rsi-fan', 'rsi-regimes', 'rsi-cdf', 'rsi-grid'].map(id => document.getElementById(id).data.length)")
    ctx.close()
    assert not blocked, blocked
    assert not errors, errors
    assert all(n > 0 for n in drawn), drawn
    from rsilab.store import Store

    with Store(store) as st:
        assert embedded["summary"] == json.loads(json.dumps(st.get_run(printed["run_id"]).summary))


def png_header(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's signature and IHDR chunk, the first chunk of every PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13, (kind, length)
    return struct.unpack(">II", data[16:24])


def test_each_chart_downloads_as_png(page, tmp_path):
    from PIL import Image

    choose(page)
    run(page)
    page.click("#keep-a")
    page.fill("#arg-p-low", "1.0")
    run(page)
    page.click("#keep-b")   # the comparison chart is drawn too
    page.wait_for_selector("#compare-rows")
    charts = page.evaluate("""Array.from(document.querySelectorAll('.js-plotly-plot'))
        .filter(el => el.offsetParent !== null)
        .map(el => ({id: el.id, width: el._fullLayout.width, height: el._fullLayout.height,
                     button: el._context.toImageButtonOptions || {}}))""")
    ids = [c["id"] for c in charts]
    assert {"rsi-fan", "rsi-regimes", "rsi-cdf", "compare-chart"} <= set(ids), ids
    saved = {}
    for chart in charts:
        button = page.locator(f"#{chart['id']} .modebar-btn[data-title='Download plot as a PNG']")
        page.hover(f"#{chart['id']}")
        assert_no_cloud(page, chart["id"])
        with page.expect_download() as dl:
            button.click()
        assert dl.value.suggested_filename == f"{chart['id']}.png"   # named after its chart
        path = tmp_path / f"{chart['id']}.png"
        dl.value.save_as(path)
        data = path.read_bytes()
        # the size the page asks plotly for (toImageButtonOptions, scale 1), else the chart's own
        want = (chart["button"].get("width", chart["width"]), chart["button"].get("height", chart["height"]))
        assert png_header(data) == want, (chart["id"], png_header(data), want)
        with Image.open(path) as im:
            im.load()   # decodes every pixel: a truncated or corrupt file fails here
            colours = im.convert("RGB").getcolors(maxcolors=1 << 20)
        # "something is drawn": an empty canvas of this size deflates to under 1 KB with one
        # colour; axes text alone anti-aliases into dozens of shades and several KB. The bounds
        # are set between the two, far from both.
        assert len(data) > 5_000, (chart["id"], len(data))
        assert len(colours) >= 16, (chart["id"], len(colours))
        saved[chart["id"]] = data
    # each button saves its own chart, not one image for all
    assert len(set(saved.values())) == len(saved), list(saved)


def test_a_shapley_run_is_labelled_in_the_runs_list_and_drawn_in_its_report(page, server, tmp_path):
    scenario = tmp_path / "correlated.toml"
    scenario.write_text("[model]\nname = 'criticality'\n[params]\nc = { dist = 'uniform', low = 0.2, high = 1.0 }\n"
                        "p = { dist = 'uniform', low = 0.8, high = 1.2 }\n[[correlations]]\nparams = ['c', 'p']\n"
                        "rho = 0.5\n[simulation]\nhorizon_years = 5\nn_grid = 11\n", encoding="utf-8")
    printed = json.loads(subprocess.run(
        [sys.executable, "-m", "rsilab.cli", "sensitivity", str(scenario), "--output", "log_growth",
         "--base-samples", "64", "--json", "--store", str(server.store)], capture_output=True, text=True, check=True).stdout)
    assert printed["method"] == "shapley"
    page.reload()
    page.wait_for_selector("body[data-ready='1']")
    page.wait_for_selector(f"#runs a[href='/api/runs/{printed['run_id']}/report']")
    row = page.locator(f"#runs tr:has(a[href='/api/runs/{printed['run_id']}/report'])").inner_text()
    assert "sensitivity (shapley)" in row, row
    page.goto(f"{server.url}/api/runs/{printed['run_id']}/report")
    page.wait_for_function("document.getElementById('rsi-shapley') && document.getElementById('rsi-shapley').data")
    title = page.inner_text("#rsi-shapley-section h2")
    traces = page.evaluate("document.getElementById('rsi-shapley').data.map(t => [t.name, t.x, t.y])")
    assert title == "Shapley effects of log_growth (method: shapley, exact estimator)", title
    rows = printed["indices"]
    assert traces == [["Shapley effect", [r["parameter"] for r in rows], [r["shapley"] for r in rows]],
                      ["first order S1", [r["parameter"] for r in rows], [r["S1"] for r in rows]],
                      ["total ST", [r["parameter"] for r in rows], [r["ST"] for r in rows]]]
    assert page.locator("#rsi-sobol").count() == 0


def assert_no_cloud(pg, chart_id: str) -> None:
    """The chart's modebar (shown on hover) offers no "share" button and no server to send to."""
    pg.hover(f"#{chart_id}")
    pg.wait_for_selector(f"#{chart_id} .modebar-btn")
    titles = pg.locator(f"#{chart_id} .modebar-btn").evaluate_all("bs => bs.map(b => b.dataset.title)")
    assert "Download plot as a PNG" in titles, titles   # the modebar was read
    assert not [t for t in titles if any(w in t.lower() for w in ("share", "cloud", "studio", "edit"))], titles
    context = pg.evaluate(f"(() => {{ const c = document.getElementById('{chart_id}')._context; "
                          "return {cloud: c.showSendToCloud, url: c.plotlyServerURL}; })()")
    assert context == {"cloud": False, "url": ""}, context


def test_run_and_the_links_wait_until_there_is_something(browser, server):
    ctx = browser.new_context(accept_downloads=True)
    held = []
    ctx.route("**/api/presets", lambda route: held.append(route))   # the preset list is held back
    pg = ctx.new_page()
    pg.goto(server.url + "/")
    wait_until(lambda: held or pg.wait_for_timeout(50), what="the page to ask for the presets")
    state = pg.evaluate("""(() => ({run: document.getElementById('run').disabled,
        hrefs: ['permalink', 'dl-toml', 'dl-csv', 'dl-json'].map(id => document.getElementById(id).getAttribute('href'))}))()""")
    assert state == {"run": True, "hrefs": [None, None, None, None]}, state
    pg.click("#dl-csv")   # a link without a target goes nowhere (before: it saved the page itself)
    assert pg.url == server.url + "/"
    held[0].continue_()
    pg.wait_for_selector("body[data-ready='1']")
    state = pg.evaluate("""(() => ({run: document.getElementById('run').disabled,
        hrefs: ['permalink', 'dl-toml', 'dl-csv', 'dl-json'].map(id => document.getElementById(id).getAttribute('href'))}))()""")
    assert state["run"] is False and state["hrefs"][0].startswith("/?v=1&s=") and state["hrefs"][1].startswith("/api/scenario.toml")
    assert state["hrefs"][2:] == [None, None]   # results only after a run
    choose(pg)
    data = run(pg)
    assert pg.get_attribute("#dl-csv", "href") == f"/api/runs/{data['run']['id']}/results.csv"
    ctx.close()


def _open_offline(browser, path):
    """Open a report from file:// with every other request refused; returns (page, context,
    refused requests, page errors)."""
    ctx = browser.new_context()
    refused: list[str] = []
    errors: list[str] = []

    def refuse(route):
        refused.append(route.request.url)
        route.abort()

    ctx.route(lambda url: not url.startswith("file://"), refuse)
    pg = ctx.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.on("request", lambda r: refused.append(r.url) if not r.url.startswith("file://") else None)
    pg.goto(path.as_uri())
    pg.wait_for_function("document.querySelectorAll('.js-plotly-plot').length > 0")
    return pg, ctx, refused, errors


def _drawn(pg) -> dict:
    """chart id -> (traces given, trace groups drawn with a non-empty path)."""
    return pg.evaluate("""Object.fromEntries(Array.from(document.querySelectorAll('.js-plotly-plot')).map(el =>
        [el.id, [el.data.length, Array.from(el.querySelectorAll('g.trace')).filter(g =>
            Array.from(g.querySelectorAll('path')).some(p => (p.getAttribute('d') || '').length > 2)).length]]))""")


def test_every_chart_type_draws_offline_with_the_shipped_bundle(browser, tmp_path):
    """Each kind of report (forecast, Sobol and Shapley sensitivity, experiment, rounds fit, a fit's held-out band
    on log axes) draws every chart with the basic plotly bundle, from file:// with the network
    refused; no modebar offers to share; the regime chart's two phases have their own colours;
    a parameter without a ceiling reads "inf"."""
    from rsilab.store import Store

    store = tmp_path / "s.sqlite"
    cli = [sys.executable, "-m", "rsilab.cli"]

    def report(*args) -> int:
        out = json.loads(subprocess.run([*cli, *args, "--json", "--store", str(store)], capture_output=True, text=True,
                                        check=True).stdout)
        return out["run_id"]

    runs = {"default": report("forecast", "--preset", "default", "--samples", "1000"),
            "controlled": report("simulate", "--preset", "controlled", "--samples", "1000"),
            "sensitivity": report("sensitivity", "--preset", PRESET, "--base-samples", "32"),
            "shapley": report("sensitivity", "--preset", PRESET, "--method", "shapley", "--base-samples", "16")}
    csv = tmp_path / "rounds.csv"
    csv.write_text("round,capability\n" + "".join(f"{i},{1 + 0.5 * (1.2 ** i - 1) / 0.2}\n" for i in range(8)))
    runs["rounds fit"] = report("fit", "rounds", str(csv), "--bootstrap", "200")
    with Store(store) as st:
        runs["experiment"] = st.add_run("experiment:self-training", "t", config={"config": {}}, seed=0)
        for r in range(3):
            st.add_round(runs["experiment"], r, {"capability": float(r + 1), "accuracy": [1.0, 0.5 + 0.1 * r, 0.1],
                                                 "label_precision": None if r == 0 else 0.9,
                                                 "detail": {"difficulties": [1, 2, 3]}})
        # what a fit with held-out points keeps (the report's log-log band chart)
        runs["held-out fit"] = st.add_run("fit:scaling", "band", config={}, seed=0, summary={"extrapolation": {
            "x": [1e6, 1e7, 1e8], "y_true": [3.1, 2.6, 2.3], "y_pred": [3.0, 2.65, 2.35],
            "interval": [[2.9, 2.5, 2.2], [3.2, 2.8, 2.5]]}})
    expected = {"default": {"rsi-fan", "rsi-regimes", "rsi-cdf"}, "controlled": {"rsi-fan", "rsi-regimes", "rsi-cdf", "rsi-grid"},
                "sensitivity": {"rsi-sobol"}, "shapley": {"rsi-shapley"}, "rounds fit": {"rsi-fit"},
                "experiment": {"rsi-capability", "rsi-accuracy", "rsi-precision"}, "held-out fit": {"rsi-fit"}}
    for name, run_id in runs.items():
        out = tmp_path / f"{run_id}.html"
        subprocess.run([*cli, "report", str(run_id), "--out", str(out), "--store", str(store)], check=True,
                       capture_output=True)
        pg, ctx, refused, errors = _open_offline(browser, out)
        drawn = _drawn(pg)
        assert set(drawn) == expected[name], (name, drawn)
        for chart, (given, shown) in drawn.items():
            assert given > 0 and shown == given, (name, chart, given, shown)
        assert_no_cloud(pg, sorted(drawn)[0])
        if name == "default":
            swatches = pg.evaluate("""Array.from(document.querySelectorAll('#rsi-regimes .legend .traces'))
                .map(t => [t.textContent, getComputedStyle(t.querySelector('.legendpoints path')).fill])""")
            assert [s[0] for s in swatches] == ["early", "late (headline)"] and swatches[0][1] != swatches[1][1], swatches
            params = pg.inner_text("#rsi-params")
            assert "fixed value=inf" in params and "value=-" not in params, params
        ctx.close()
        assert not refused, (name, refused)
        assert not errors, (name, errors)


AI2027 = "ai2027-takeoff"


def test_outcome_preset_edit_a_prior_and_compare(page):
    # a path model's run first: its fan chart must go away when the outcome model's run is drawn
    choose(page)
    run(page)
    choose(page, AI2027, samples="4000")
    a = run(page)
    assert a["kind"] == "outcome"
    assert page.evaluate("document.getElementById('rsi-fan-section').style.display") == "none"
    cdf = page.evaluate("document.getElementById('rsi-metric-cdf').data.map(t => t.name)")
    assert cdf == ["SAR", "SIAR", "ASI"]
    assert page.evaluate("document.getElementById('rsi-series-progress_multiplier').data.length") > 0
    table = page.inner_text("#rsi-outcome-milestones")
    assert "SAR" in table and "ASI" in table
    page.click("#keep-a")
    # the priors are editable: SAR comes with SC in 60% of the worlds instead of 15%
    page.fill("#arg-p_sc_sar_zero-value", "0.6")
    b = run(page)
    page.click("#keep-b")
    page.wait_for_selector("#compare-rows")
    sar_a = a["summary"]["milestones"]["SAR"]["years_after_sc"]["median"]
    sar_b = b["summary"]["milestones"]["SAR"]["years_after_sc"]["median"]
    assert sar_b == 0.0 < sar_a
    cells = page.locator("#compare-rows tr[data-output='median years_after_sc SAR'] td").all_inner_texts()
    assert float(cells[1]) == pytest.approx(sar_a, abs=SHOWN) and float(cells[2]) == pytest.approx(sar_b, abs=SHOWN)
    # the compare chart shows the headline: each milestone's median, A then B
    traces = page.evaluate("document.getElementById('compare-chart').data.map(t => t.y)")
    medians = [[s["summary"]["milestones"][m]["years_after_sc"]["median"] for m in ("SAR", "SIAR", "ASI")]
               for s in (a, b)]
    assert traces == medians


def test_outcome_report_opens_offline_from_file(browser, tmp_path):
    store = tmp_path / "s.sqlite"
    out = tmp_path / "report.html"
    printed = json.loads(subprocess.run(
        [sys.executable, "-m", "rsilab.cli", "simulate", "--preset", AI2027, "--samples", "3000", "--json",
         "--report", str(out), "--store", str(store)], capture_output=True, text=True, check=True).stdout)
    ctx = browser.new_context()
    blocked: list[str] = []
    ctx.route(lambda url: not url.startswith("file://"), lambda route: (blocked.append(route.request.url), route.abort()))
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.goto(out.as_uri())
    pg.wait_for_function("document.getElementById('rsi-metric-cdf') && document.getElementById('rsi-metric-cdf').data")
    embedded = pg.evaluate("JSON.parse(document.getElementById('rsilab-data').textContent)")
    cdf = pg.evaluate("document.getElementById('rsi-metric-cdf').data.map(t => [t.name, t.y[t.y.length - 1]])")
    bands = pg.evaluate("document.getElementById('rsi-series-progress_multiplier').data.length")
    ctx.close()
    assert not blocked, blocked
    assert not errors, errors
    # each CDF ends at the fraction of all samples that reached the milestone within the horizon
    assert [c[0] for c in cdf] == ["SAR", "SIAR", "ASI"]
    for name, last in cdf:
        assert last == pytest.approx(printed["milestones"][name]["fraction_reached"], abs=1e-12)
    assert bands == 5   # two bands (two traces each) and the median
    from rsilab.store import Store

    with Store(store) as st:
        assert embedded["summary"] == json.loads(json.dumps(st.get_run(printed["run_id"]).summary))


def test_ftm_preset_reads_calendar_years_and_compares_with_markers(page):
    # the compute-centric model's clock is the calendar: the event CDFs on a linear axis of years,
    # the series from 2022 in the model's order, and A/B as markers (bars from 0 would hide a
    # difference of a few years out of 2040)
    choose(page, "ftm-best-guess", samples="1")
    a = run(page)
    assert a["kind"] == "outcome"
    assert page.evaluate("document.getElementById('rsi-metric-cdf').layout.xaxis.type") == "linear"
    assert page.evaluate("document.getElementById('rsi-series-frac_tasks_automated_goods').data[0].x[0]") == 2022
    sections = page.evaluate("Array.from(document.querySelectorAll('[id^=rsi-series-]:not([id$=-section])')).map(e => e.id)")
    assert sections[:2] == ["rsi-series-frac_tasks_automated_goods", "rsi-series-frac_tasks_automated_rnd"], sections
    assert "2040.0" in page.inner_text("#rsi-outcome-timeline_metrics")
    page.click("#keep-a")
    # a prior edited on the page: software R&D returns fixed at 3 instead of 1.25
    page.fill("#arg-software_returns-value", "3")
    b = run(page)
    page.click("#keep-b")
    page.wait_for_selector("#compare-rows")
    full = [s["summary"]["timeline_metrics"]["automation_gns_100%"]["year"]["median"] for s in (a, b)]
    assert full[0] == pytest.approx(2040.0, abs=0.05) and full[1] < full[0]
    traces = page.evaluate("document.getElementById('compare-chart').data.map(t => [t.type, t.mode])")
    assert traces == [["scatter", "markers"], ["scatter", "markers"]]
    assert page.evaluate("document.getElementById('compare-chart').layout.yaxis.type") != "log"
