"""The studio endpoints of `translation app` (live redraw, Compare, the batch gallery) through gradio_client."""
from __future__ import annotations


import numpy as np
import pytest
from app_fixtures import api_client, images, run_app, tiny_models  # noqa: F401 - fixtures
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from translation.imaging.io import read_image, write_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def app(tiny_models, tmp_path_factory):  # noqa: F811
    with run_app(tiny_models, tmp_path_factory.mktemp("app-studio-api")) as app:
        yield app


@pytest.fixture(scope="module")
def client(app) -> Client:
    with api_client(app) as client:
        yield client


def _drawing(tmp_path, name: str = "drawing.png") -> dict:
    strokes = np.zeros((48, 48, 4), np.uint8)
    strokes[10:14, 4:44, 3] = 255
    return {"background": None, "layers": [], "composite": handle_file(write_image(tmp_path / name, strokes))}


def test_the_live_endpoint_redraws_a_drawing(client, app, tmp_path):
    (before, after), download, summary = client.predict(_drawing(tmp_path), True, "sketch-to-photo", 0, "png",
                                                        api_name="/sketch_drawing_to_photo_live")
    assert read_image(download).rgb.shape == (48, 48, 3) and read_image(before).rgb[11, 20, 0] == 0
    assert "sketch-to-photo" in summary
    assert "live redraw: **sketch-to-photo** on CPU" in (app.temp_root / "app.log").read_text()


def test_compare_takes_a_list_of_models(client, images):  # noqa: F811
    gallery, table = client.predict(handle_file(images["photo"]), ["style-photo2art", "style-art2photo"], False,
                                    api_name="/compare")
    assert [entry["caption"].split(" · ")[0] for entry in gallery] == ["style-photo2art", "style-art2photo"]
    outputs = [read_image(entry["image"]).rgb for entry in gallery]
    assert outputs[0].shape == outputs[1].shape == (40, 48, 3) and not np.array_equal(*outputs)
    assert table.count(" s on CPU · 48×40 px |") == 2

    with pytest.raises(AppError, match="of one task"):
        client.predict(handle_file(images["photo"]), ["style-photo2art", "colorization"], False, api_name="/compare")
    with pytest.raises(AppError, match="not available"):
        client.predict(handle_file(images["photo"]), ["/etc/passwd"], False, api_name="/compare")


def test_compare_extracts_the_line_drawing_for_sketch_models(client, images):  # noqa: F811
    gallery, _ = client.predict(handle_file(images["photo"]), ["sketch-to-photo"], True, api_name="/compare")
    assert read_image(gallery[0]["image"]).rgb.shape == (40, 48, 3)
