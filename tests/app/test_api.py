"""`translation app` in a subprocess, driven through its named API endpoints with gradio_client."""
from __future__ import annotations

import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import pytest
from app_fixtures import api_client, images, run_app, tiny_models  # noqa: F401 - fixtures
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from translation.imaging.io import read_image, write_image

pytestmark = pytest.mark.slow
MAX_FILE_SIZE_KB = 300


@pytest.fixture(scope="module")
def app(tiny_models, tmp_path_factory):  # noqa: F811
    with run_app(tiny_models, tmp_path_factory.mktemp("app-api"), "--max-file-size", f"{MAX_FILE_SIZE_KB}KB") as app:
        yield app


@pytest.fixture(scope="module")
def client(app) -> Client:
    with api_client(app) as client:
        yield client


def _output(result) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], str]:
    (before, after), download, summary = result
    return read_image(download).rgb, (read_image(before).rgb, read_image(after).rgb), summary


def _differs(source: Path, output: np.ndarray) -> bool:
    pixels = read_image(source).rgb
    if pixels.shape != output.shape:
        return True
    return float(np.abs(pixels.astype(int) - output.astype(int)).mean()) > 1.0


def test_starts_quickly_on_this_machine_only(app):
    assert app.startup_seconds < 15, f"ready after {app.startup_seconds:.1f} s (the issue asks for 15 s)"
    assert app.url.startswith("http://127.0.0.1:")
    assert len(app.workspaces()) == 1  # its own temporary folder, inside TMPDIR


def test_every_task_through_the_api(client, images, tmp_path):  # noqa: F811
    photo, gray = images["photo"], images["gray"]
    calls = {
        "/colorize": (gray, [handle_file(gray), "colorization", 0, "png"], (40, 48)),
        "/super_resolve": (photo, [handle_file(photo), "super-resolution", 0, "png"], (160, 192)),
        "/style_transfer": (photo, [handle_file(photo), "photo2art", 0, "webp"], (40, 48)),
        "/sketch_to_photo": (photo, [handle_file(photo), True, "sketch-to-photo", 0, "jpg"], (40, 48)),
        "/custom": (photo, [handle_file(photo), "my-custom", 0, "png"], (40, 48)),
    }
    for endpoint, (source, arguments, (height, width)) in calls.items():
        output, (before, after), summary = _output(client.predict(*arguments, api_name=endpoint))
        assert output.shape == (height, width, 3), endpoint
        assert before.shape == after.shape == output.shape, endpoint
        assert _differs(source, output), f"{endpoint}: the output equals the input"
        assert "CPU" in summary, endpoint

    strokes = np.zeros((48, 48, 4), np.uint8)
    strokes[10:14, 4:44, 3] = 255
    drawing = write_image(tmp_path / "drawing.png", strokes)
    result = client.predict({"background": None, "layers": [], "composite": handle_file(drawing)},
                            "sketch-to-photo", 0, "png", api_name="/sketch_drawing_to_photo")
    assert _output(result)[0].shape == (48, 48, 3)


def test_colour_strength_through_the_api(client, images):  # noqa: F811
    from translation.imaging.colour import rgb_to_lab
    from translation.imaging.io import to_float

    gray = handle_file(images["gray"])
    chroma = {}
    for strength in (0.5, 2.0):
        output = _output(client.predict(gray, "colorization", 0, "png", strength, api_name="/colorize"))[0]
        lab = rgb_to_lab(to_float(output))
        chroma[strength] = float(np.hypot(lab[..., 1], lab[..., 2]).mean())
    assert chroma[2.0] > 3 * chroma[0.5] > 0
    with pytest.raises(AppError, match="colour strength 9 is out of range"):
        client.predict(gray, "colorization", 0, "png", 9, api_name="/colorize")


def test_style_directions_and_output_formats(client, images):  # noqa: F811
    photo = handle_file(images["photo"])
    (_, _), art, _ = client.predict(photo, "photo2art", 0, "png", api_name="/style_transfer")
    (_, _), back, _ = client.predict(photo, "art2photo", 0, "jpg", api_name="/style_transfer")
    assert Path(art).suffix == ".png" and Path(back).suffix == ".jpg"
    assert not np.array_equal(read_image(art).rgb, read_image(back).rgb)


def test_batch_returns_a_zip(client, images):  # noqa: F811
    files = [handle_file(images["photo"]), handle_file(images["small"]), handle_file(images["not_image"])]
    archive, summary, gallery = client.predict(files, "super-resolution", 0, "png", False, api_name="/batch")
    assert [entry["caption"] for entry in gallery] == ["photo.png → photo.png", "small.png → small.png"]
    with zipfile.ZipFile(archive) as zipped:
        assert sorted(zipped.namelist()) == ["photo.png", "small.png"]
        with zipped.open("small.png") as member:
            assert read_image(member.read()).rgb.shape == (80, 96, 3)
    assert "2 of 3" in summary and "notes.png: not an image file" in summary


def test_bad_uploads_get_a_reason_and_the_app_keeps_serving(client, images, tmp_path):  # noqa: F811
    with pytest.raises(AppError, match=r"notes\.png: not an image file") as caught:
        client.predict(handle_file(images["not_image"]), "colorization", 0, "png", api_name="/colorize")
    assert "Traceback" not in str(caught.value) and "/tmp" not in str(caught.value)
    with pytest.raises(AppError, match="not in the list of choices|not available"):
        client.predict(handle_file(images["photo"]), "../../etc/passwd", 0, "png", api_name="/custom")

    big = tmp_path / "big.png"
    write_image(big, np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8))
    assert big.stat().st_size > MAX_FILE_SIZE_KB * 1024
    with pytest.raises(Exception, match="(?i)too large|exceeds|413"):
        client.predict(handle_file(big), "colorization", 0, "png", api_name="/colorize")

    output, _, _ = _output(client.predict(handle_file(images["small"]), "my-custom", 0, "png", api_name="/custom"))
    assert output.shape == (20, 24, 3)


def test_no_file_outside_the_app_is_served(app, tiny_models):  # noqa: F811
    for path in ("/etc/passwd", str(tiny_models / "colorization.onnx"), str(Path(__file__).resolve())):
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(f"{app.url}gradio_api/file={path}", timeout=10)
        assert caught.value.code in (403, 404), path


def test_outputs_stay_in_the_workspace_and_go_at_exit(app, client, images):  # noqa: F811
    client.predict(handle_file(images["photo"]), "my-custom", 0, "png", api_name="/custom")
    (workspace,) = app.workspaces()
    written = list((workspace / "outputs").rglob("photo-my-custom.png"))
    assert written, "the full-resolution output is written into the app's own folder"
    assert app.stop() == 0
    assert not workspace.exists(), "the app's temporary folder is removed when it stops"
