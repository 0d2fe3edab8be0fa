"""The Video tab in a real browser (Debian's Chromium through Playwright) and through its API endpoint."""
from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import REPO_ROOT, api_client, run_app
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from test_browser import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

from translation.imaging.io import read_image
from translation.video import probe
from translation.video.synthetic import camera_pan, write_clip

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    photo = read_image(REPO_ROOT / "examples" / "style-transfer" / "kay.jpg").rgb
    frames = camera_pan(photo, width=96, height=64, frames=12, pan=(1.0, 0.2), zoom=0.01, noise=1.0).frames
    return write_clip(tmp_path_factory.mktemp("video-clip") / "street.mp4", frames, fps=12, audio_seconds=1.0)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app with the shipped models of exports/ (its Video tab lists them all)."""
    with run_app(tmp_path_factory.mktemp("no-extra-models"), tmp_path_factory.mktemp("app-video")) as app:
        yield app


@pytest.fixture(scope="module")
def client(app) -> Client:
    with api_client(app) as client:
        yield client


def test_the_api_endpoint_translates_a_clip_and_keeps_its_sound(client, clip):
    video, download, summary = client.predict(handle_file(clip), "style-photo2art", True, False,
                                              api_name="/translate_video")
    path = Path(video["video"] if isinstance(video, dict) else video)
    output, source = probe(path), probe(clip)
    assert (output.frames, output.width, output.height) == (12, 96, 64)
    assert output.average_rate == source.average_rate and output.audio_codec == "aac"
    assert Path(download).name == path.name == "street-style-photo2art.mp4"
    assert "12 frames" in summary and "stabilised" in summary and "aac audio copied" in summary


def test_a_file_that_is_no_video_gets_its_reason(client, tmp_path):
    fake = tmp_path / "holiday.mp4"
    fake.write_bytes(b"\x00" * 2048)
    with pytest.raises(AppError, match="holiday.mp4: not a readable video") as caught:
        client.predict(handle_file(fake), "style-photo2art", True, False, api_name="/translate_video")
    assert "Traceback" not in str(caught.value) and tempfile.gettempdir() not in str(caught.value)


@pytest.fixture(scope="module")
def page(app):
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(app.url)
        yield page
        browser.close()


def test_upload_a_clip_in_the_video_tab_and_get_a_playable_video(page, clip):
    page.get_by_role("tab", name="Video").click()
    page.locator("#video-input input[type=file]").set_input_files(str(clip))
    page.locator("#video-input video").wait_for()               # the original, shown as uploaded
    page.locator("#video-run").click()
    page.locator("#video-summary").get_by_text("12 frames").wait_for(timeout=120_000)
    output = page.locator("#video-output video")
    output.wait_for()
    # the browser decodes it: metadata read, a frame of the right size, and it plays
    page.wait_for_function("el => el.readyState >= 2 && el.videoWidth === 96 && el.videoHeight === 64",
                           arg=output.element_handle())
    duration = output.evaluate("el => el.duration")
    assert duration == pytest.approx(1.0, abs=0.1)
    output.evaluate("el => { el.muted = true; return el.play(); }")
    page.wait_for_function("el => el.currentTime > 0.2", arg=output.element_handle())
    assert output.evaluate("el => el.error") is None
    assert page.locator(".toast-body").count() == 0
    assert np.isfinite(duration)
