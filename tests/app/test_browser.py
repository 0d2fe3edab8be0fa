"""The page in a real browser: Playwright drives Debian's headless Chromium against `translation app`."""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from urllib.parse import urlparse

import pytest
from app_fixtures import REPO_ROOT, export_tiny_models, images, run_app, write_test_image  # noqa: F401

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOT = REPO_ROOT / "docs" / "screenshots" / "app.png"
TIMEOUT_MS = 30_000


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    """The app's --models folder: empty at start, so the tabs show the shipped models of exports/."""
    return tmp_path_factory.mktemp("extra-models")


@pytest.fixture(scope="module")
def app(models_dir, tmp_path_factory):
    """The app as installed: the shipped default models of exports/ (the screenshot shows the real one)."""
    assert (REPO_ROOT / "exports" / "colorization.onnx").is_file(), "the shipped colorization model is missing"
    with run_app(models_dir, tmp_path_factory.mktemp("app-browser")) as app:
        yield app


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        pytest.fail(f"Chromium is missing at {CHROMIUM}: install it with `apt-get install -y chromium` "
                    "(.ci/run installs chromium); the browser tests need it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, app):
    """A fresh page on the app; any request that would leave this machine is blocked and recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, device_scale_factor=1)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    app_host = urlparse(app.url).netloc
    page.outside_requests = []

    def only_local(route):
        url = route.request.url
        if url.startswith(("data:", "blob:")) or urlparse(url).netloc == app_host:
            route.continue_()
        else:
            page.outside_requests.append(url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(app.url)
    page.get_by_role("tab", name="Colorization").click()
    yield page
    context.close()


def _black_and_white_photo(tmp_path: Path) -> Path:
    """The first colorization example (a real photo, for the README's screenshot), else a drawn one."""
    examples = sorted((REPO_ROOT / "examples" / "colorization").glob("*.jpg"))
    if examples:
        return Path(shutil.copyfile(examples[0], tmp_path / f"old-photo{examples[0].suffix}"))
    return write_test_image(tmp_path / "old-photo.png", 192, 128, gray=True)


def test_colorize_an_upload_and_take_the_screenshot(page, tmp_path):
    from translation.imaging.io import read_image

    photo = _black_and_white_photo(tmp_path)
    size = "{0.width}×{0.height}".format(read_image(photo))
    page.locator("#colorization-input input[type=file]").set_input_files(str(photo))
    page.get_by_text(f"{size} px · 8-bit RGB").wait_for()  # read by our reader as soon as it arrived
    assert page.locator("#colorization-strength input[type=number]").input_value() == "1"  # the model's own colour
    page.locator("#colorization-run").click()

    output = page.locator("#colorization-output img")
    output.first.wait_for()
    assert output.count() == 2  # before and after, in the slider
    page.get_by_text("old-photo-colorization.png").first.wait_for()  # the full-resolution download
    page.get_by_text(f"{size} → {size} px").wait_for()
    assert page.locator(".toast-body").count() == 0
    assert page.outside_requests == [], "the page must work offline"

    shot = tmp_path / "app.png"
    page.wait_for_timeout(300)  # let the slider finish its layout
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)  # only once everything above has passed


def test_a_non_image_upload_shows_the_reason(page, images):  # noqa: F811
    page.locator("#colorization-input input[type=file]").set_input_files(str(images["not_image"]))
    toast = page.locator(".toast-body").filter(has_text="notes.png: not an image file")
    toast.wait_for()
    assert "Traceback" not in page.content()

    page.locator("#colorization-run").click()  # running it anyway gives the same reason again
    page.get_by_text("notes.png: not an image file").nth(1).wait_for()
    assert page.outside_requests == []


def test_a_drawing_on_the_sketchpad_becomes_a_picture(page):
    page.get_by_role("tab", name="Sketch to photo").click()
    page.get_by_role("tab", name="Draw").click()
    page.locator("#sketch-to-photo-draw-run").click()  # nothing drawn yet: the reason, no picture
    page.locator(".toast-body").filter(has_text="The sketchpad is empty").wait_for()
    canvas = page.locator("canvas").filter(visible=True).first
    box = canvas.bounding_box()
    assert box and box["width"] > 100 and box["height"] > 100
    page.get_by_role("button", name="Brush").click()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(centre_x - 100, centre_y - 60)
    page.mouse.down()
    for step in range(1, 21):  # a zigzag line across the paper in the middle of the pad
        page.mouse.move(centre_x - 100 + 10 * step, centre_y + (60 if step % 2 else -60), steps=4)
    page.mouse.up()
    page.locator("#sketch-to-photo-draw-run").click()
    output = page.locator("#sketch-to-photo-output img")
    output.first.wait_for()
    assert output.count() == 2  # the drawing and the picture made of it, in the slider
    page.get_by_text("drawing-sketch-to-photo.png").first.wait_for()
    page.get_by_text("Model card").filter(visible=True).click()  # the card now names where the model ran
    page.locator(".model-card").filter(visible=True).get_by_role("cell", name="CPU", exact=True).wait_for()
    assert page.outside_requests == []


def test_rescan_brings_a_model_exported_later_to_its_task_tab(page, models_dir, tmp_path):
    page.get_by_role("tab", name="Super-resolution").click()
    picker = page.locator("#super-resolution-run").locator("xpath=ancestor::div[contains(@class, 'column')][1]")
    model_input = picker.get_by_label("Model")
    model_input.wait_for()
    assert model_input.is_disabled()  # one super-resolution model (the shipped one): nothing to choose

    exported = export_tiny_models(tmp_path / "tiny")
    shutil.copyfile(exported["super-resolution"], models_dir / "tiny-sr.onnx")  # exported while the app runs
    page.get_by_role("tab", name="Custom model").click()
    page.get_by_role("button", name="Rescan the model folders").click()
    page.get_by_role("tab", name="Super-resolution").click()
    model_input.click()  # waits until it is enabled: two models now
    page.get_by_role("option", name="tiny-sr").wait_for()
    assert page.get_by_role("option", name="super-resolution").count() == 1  # the shipped one stays
