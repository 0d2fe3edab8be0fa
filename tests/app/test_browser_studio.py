"""The studio parts of the page in a real browser (Playwright + Debian's Chromium): the sketchpad redrawn on
each stroke, Compare with two models, the Batch gallery. The README's screenshots of them are taken here."""
from __future__ import annotations

import json
import shutil
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import REPO_ROOT, images, run_app  # noqa: F401 - fixtures
from test_browser import TIMEOUT_MS, browser  # noqa: F401 - the browser fixture

from translation.imaging.io import read_image

pytestmark = pytest.mark.slow

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"
LIVE_API = "sketch_drawing_to_photo_live"

# Counts the live endpoint's requests as the page sees them: a request is pending from its queue/join until
# the queue/data stream says process_completed for its event id. Also counts the runs of every endpoint that
# completed (by fn index) and every request the page sent, to tell when it has gone quiet.
RECORD_LIVE_REQUESTS = """
(() => {
  const live = window.__live = {fn: null, joins: 0, completed: 0, failed: 0, pending: 0, maxPending: 0,
                                requests: 0, lastRequestAt: 0, completedByFn: {}, timeline: []};
  const ids = new Set(), fnOfEvent = new Map();
  const original = window.fetch;
  function watch(stream) {
    const reader = stream.getReader(), decoder = new TextDecoder();
    let buffer = "";
    (async () => {
      for (;;) {
        const {value, done} = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, {stream: true});
        const lines = buffer.split("\\n");
        buffer = lines.pop();
        for (const line of lines) {
          if (!line.startsWith("data:")) continue;
          const message = JSON.parse(line.slice(5));
          if (message.msg === "process_completed" && fnOfEvent.has(message.event_id)) {
            const fn = fnOfEvent.get(message.event_id);
            live.completedByFn[fn] = (live.completedByFn[fn] || 0) + 1;
          }
          if (message.msg === "process_completed" && ids.delete(message.event_id)) {
            live.completed += 1;
            live.failed += message.success ? 0 : 1;
            live.pending -= 1;
            live.timeline.push(`done ${Math.round(performance.now())}`);
          }
        }
      }
    })();
  }
  window.fetch = async function (input, init) {
    const url = typeof input === "string" ? input : input.url;
    live.requests += 1;
    live.lastRequestAt = performance.now();
    const response = await original.apply(this, arguments);
    const fn = url.includes("/queue/join") && init && typeof init.body === "string" ? JSON.parse(init.body).fn_index
                                                                                     : null;
    if (fn !== null) fnOfEvent.set((await response.clone().json()).event_id, fn);
    if (fn !== null && fn === live.fn) {
      ids.add((await response.clone().json()).event_id);
      live.joins += 1;
      live.pending += 1;
      live.maxPending = Math.max(live.maxPending, live.pending);
      live.timeline.push(`join ${Math.round(performance.now())}`);
    } else if (url.includes("/queue/data") && response.body) {
      const [mine, theirs] = response.body.tee();
      watch(mine);
      return new Response(theirs, {status: response.status, statusText: response.statusText,
                                   headers: response.headers});
    }
    return response;
  };
})();
"""


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The shipped models, and an INT8 copy of the super-resolution one (what Compare is for)."""
    from translation.quantize import quantize_model

    models = tmp_path_factory.mktemp("studio-models")
    quantize_model(REPO_ROOT / "exports" / "super-resolution.onnx", models / "super-resolution-int8.onnx",
                   REPO_ROOT / "examples" / "super-resolution", crops=4, check_crops=1)
    with run_app(models, tmp_path_factory.mktemp("app-studio")) as app:
        yield app


@pytest.fixture
def page(browser, app):  # noqa: F811
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    context.add_init_script(RECORD_LIVE_REQUESTS)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(app.url)
    with urllib.request.urlopen(f"{app.url}config", timeout=10) as response:
        dependencies = json.load(response)["dependencies"]
    page.fn_index = {d["api_name"]: d["id"] for d in dependencies if d.get("api_name")}
    page.evaluate("fn => { window.__live.fn = fn; }", page.fn_index[LIVE_API])
    yield page
    context.close()


# ------------------------------------------------------------------------------------ live sketch

def _live(page) -> dict:
    return page.evaluate("() => ({...window.__live})")


def _model_runs(app) -> int:
    """Live redraws the server ran the model for (one log line each)."""
    return (app.temp_root / "app.log").read_text(errors="replace").count("live redraw: ")


def _wait_until_quiet(page, quiet_ms: int = 6000, timeout_s: float = 120) -> dict:
    """Until no live request is pending and the page has sent nothing for ``quiet_ms`` (a stroke reaches
    the server seconds after it is drawn here: Chromium renders the canvas in software on a busy CPU)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        state = page.evaluate("() => ({...window.__live, now: performance.now()})")
        if state["pending"] == 0 and state["now"] - state["lastRequestAt"] > quiet_ms:
            return state
        page.wait_for_timeout(250)
    pytest.fail(f"the page did not settle: {state}")


def _redrawn(page, joins_before: int) -> dict:
    """Once the page has sent a live request after ``joins_before`` of them, and gone quiet."""
    page.wait_for_function("n => window.__live.joins > n", arg=joins_before, timeout=120_000)
    return _wait_until_quiet(page)


def _occupy_the_model(app, tmp_path: Path):
    """A long super-resolution run (1024² -> 4096², 15-20 s here) through the API: the redraws asked for
    meanwhile wait behind it."""
    from gradio_client import Client, handle_file

    from translation.imaging.io import write_image

    big = write_image(tmp_path / "big.png", np.random.default_rng(0).integers(0, 256, (1024, 1024, 3), np.uint8))
    client = Client(app.url, verbose=False, download_files=str(tmp_path / "downloads"))
    return client.submit(handle_file(big), "super-resolution", 0, "jpg", api_name="/super_resolve")


def _stroke(page, points: list[tuple[float, float]], steps: int) -> None:
    page.mouse.move(*points[0])
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*point, steps=steps)
    page.mouse.up()


def _before_image(page) -> tuple[str, np.ndarray]:
    """The slider's "before" picture (the drawing the model was given) and where it was served from."""
    source = page.locator("#sketch-to-photo-output img").first.get_attribute("src")
    return source, read_image(page.request.get(source).body()).rgb


def test_strokes_redraw_the_photo_without_the_button_one_request_at_a_time(page, app, tmp_path):
    page.get_by_role("tab", name="Sketch to photo").click()
    page.get_by_role("tab", name="Draw").click()
    assert page.locator("#sketch-to-photo-live input").is_checked()
    box = page.locator("canvas").filter(visible=True).first.bounding_box()
    page.get_by_role("button", name="Brush").click()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2

    runs_at_start, joins_at_start = _model_runs(app), _live(page)["joins"]
    _stroke(page, [(x - 80, y + 70), (x - 80, y - 10), (x, y - 80), (x + 80, y - 10), (x + 80, y + 70),
                   (x - 80, y + 70)], steps=6)                                      # a house
    page.locator("#sketch-to-photo-output img").first.wait_for()                     # no button pressed
    first = _redrawn(page, joins_at_start)
    assert first["joins"] > joins_at_start and _model_runs(app) > runs_at_start

    strokes = 10                                                                     # quick ones: the sun's rays
    for ray in range(strokes):
        _stroke(page, [(x + 120, y - 140 + 9 * ray), (x + 150, y - 140 + 9 * ray)], steps=2)
    # The page sends the strokes' redraws over the next seconds (Chromium renders the canvas in software
    # here); from now on each one waits behind a long run, as on a busy server.
    busy = _occupy_the_model(app, tmp_path)
    page.evaluate("() => window.__live.timeline.push(`drawn ${Math.round(performance.now())}`)")
    state = _redrawn(page, first["joins"])
    busy.result(timeout=180)
    sent = state["joins"] - first["joins"]
    report = json.dumps(state)
    assert state["maxPending"] == 1, report         # never a second request while one is pending
    assert 1 <= sent < strokes, report              # strokes made while one waited went as one request
    assert state["completed"] == state["joins"] and state["failed"] == 0, report
    assert _model_runs(app) - runs_at_start == state["joins"] - joins_at_start   # each request ran the model once
    assert page.locator(".toast-body").count() == 0

    page.screenshot(path=str(tmp_path / "live_sketch.png"), full_page=True)

    # the last redraw shows the whole drawing: the button, given the same drawing, shows the same
    _, live_drawing = _before_image(page)
    page.locator("#sketch-to-photo-draw-run").click()
    page.wait_for_function("fn => window.__live.completedByFn[fn] === 1",
                           arg=page.fn_index["sketch_drawing_to_photo"])
    _, button_drawing = _before_image(page)
    assert (live_drawing < 128).any(axis=2).sum() > 2000                             # the house and the rays
    assert np.abs(live_drawing.astype(int) - button_drawing.astype(int)).mean() < 1.0

    # off: strokes change nothing and run nothing
    _wait_until_quiet(page)
    page.locator("#sketch-to-photo-live input").uncheck()
    runs = _model_runs(app)
    source, _ = _before_image(page)
    _stroke(page, [(x - 150, y + 100), (x - 110, y + 100)], steps=3)
    _wait_until_quiet(page)
    assert _model_runs(app) == runs and _before_image(page)[0] == source
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "live_sketch.png", SCREENSHOTS / "live_sketch.png")   # only once all of it passed


# ------------------------------------------------------------------------------------ compare

def test_compare_shows_two_models_on_one_upload(page, tmp_path):
    photo = REPO_ROOT / "examples" / "super-resolution" / "wood.jpg"
    page.get_by_role("tab", name="Compare").click()
    page.locator("#compare-task input").click()
    page.get_by_role("option", name="Super-resolution (2)").click()
    models = page.locator("#compare-models input[type=checkbox]")
    page.wait_for_function("() => document.querySelectorAll('#compare-models input:checked').length === 2")
    assert models.count() == 2
    page.locator("#compare-input input[type=file]").set_input_files(str(photo))
    page.locator("#compare-run").click()

    rows = page.locator("#compare-summary tbody tr")
    rows.nth(1).wait_for()
    assert rows.count() == 2
    assert "super-resolution" in rows.nth(0).inner_text() and "super-resolution-int8" in rows.nth(1).inner_text()
    assert all("640×480 px" in rows.nth(i).inner_text() for i in range(2))
    assert "held-out PSNR" in rows.nth(0).inner_text() and "INT8" in rows.nth(1).inner_text()
    outputs = page.locator("#compare-output img")
    outputs.nth(1).wait_for()
    assert outputs.count() == 2
    page.get_by_text("super-resolution-int8 · ").first.wait_for()              # each output's caption
    assert page.locator(".toast-body").count() == 0

    page.wait_for_timeout(300)
    page.screenshot(path=str(tmp_path / "compare.png"), full_page=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "compare.png", SCREENSHOTS / "compare.png")


# ------------------------------------------------------------------------------------ batch

def test_batch_shows_a_gallery_entry_per_file_and_a_line_per_failure(page, images, tmp_path):  # noqa: F811
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(Path(images["photo"]).read_bytes()[:60])
    page.get_by_role("tab", name="Batch").click()
    page.locator("#batch-files input[type=file]").set_input_files(
        [str(images["photo"]), str(images["small"]), str(images["not_image"]), str(broken)])
    page.locator("#batch-run").click()

    thumbnails = page.locator("#batch-gallery img")
    thumbnails.nth(1).wait_for()
    assert thumbnails.count() == 2
    page.get_by_text("photo.png → photo.png").first.wait_for()
    failures = page.locator("#batch-summary li")
    assert failures.count() == 2
    assert "notes.png: not an image file" in failures.nth(0).inner_text()
    assert "broken.jpg" in failures.nth(1).inner_text()
    page.get_by_text("Translated 2 of 4").wait_for()
