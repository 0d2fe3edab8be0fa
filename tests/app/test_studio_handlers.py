"""The studio parts of the app called directly: live redraw, Compare, the batch gallery (tiny models)."""
from __future__ import annotations

from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from app_fixtures import images, tiny_models  # noqa: F401 - fixtures

from translation.app.compare_tab import ComparePicker, Comparer, default_task, task_choices
from translation.app.handlers import AppHandlers
from translation.app.live_sketch import live_endpoint
from translation.app.models import ModelRegistry
from translation.app.ui import build_demo
from translation.app.workspace import Workspace
from translation.imaging.io import read_image, write_image


@pytest.fixture(scope="module")
def handlers(tiny_models, tmp_path_factory) -> AppHandlers:  # noqa: F811
    return AppHandlers(ModelRegistry([tiny_models], threads=1), Workspace(tmp_path_factory.mktemp("ws")))


def _drawing(tmp_path: Path, rows: slice | None) -> dict:
    strokes = np.zeros((64, 64, 4), np.uint8)        # a transparent canvas, as the sketchpad sends it
    if rows is not None:
        strokes[rows, 8:56, 3] = 255                 # a black line
    path = write_image(tmp_path / f"drawing-{rows}.png", strokes)
    return {"background": None, "layers": [], "composite": str(path)}


def test_live_redraw_follows_the_toggle_and_clears_on_an_empty_pad(handlers, tmp_path):
    live = live_endpoint(handlers, "sketch-to-photo", "sketch_drawing_to_photo_live")
    (before, after), download, summary = live(_drawing(tmp_path, slice(20, 24)), True, "sketch-to-photo", 0, "png")
    assert read_image(before).rgb[21, 30, 0] == 0 and read_image(download).rgb.shape == (64, 64, 3)
    assert "sketch-to-photo" in summary

    skipped = live(_drawing(tmp_path, slice(40, 44)), False, "sketch-to-photo", 0, "png")
    assert all(isinstance(value, dict) and value.get("__type__") == "update" and len(value) == 1
               for value in skipped), skipped                     # gr.skip(): every output left as it is
    assert live(_drawing(tmp_path, None), True, "sketch-to-photo", 0, "png") == (None, None, "")
    with pytest.raises(gr.Error, match="style-photo2art.*not sketch-to-photo"):
        live(_drawing(tmp_path, slice(20, 24)), True, "style-photo2art", 0, "png")


def test_the_live_event_never_queues_a_second_redraw(handlers):
    demo = build_demo(handlers)
    (live,) = [fn for fn in demo.fns.values() if fn.api_name == "sketch_drawing_to_photo_live"]
    assert live.trigger_mode == "always_last" and live.concurrency_id == "inference"
    pad, toggle = live.inputs[:2]
    assert isinstance(pad, gr.Sketchpad) and isinstance(toggle, gr.Checkbox) and toggle.label == "Redraw as I draw"
    assert [(block_id, event) for block_id, event in live.targets] == [(pad._id, "change")]   # each stroke


def test_compare_runs_each_model_on_one_upload(handlers, images):  # noqa: F811
    gallery, table = Comparer(handlers).compare(str(images["photo"]), ["style-photo2art", "style-art2photo"])
    assert [caption.split(" · ")[0] for _, caption in gallery] == ["style-photo2art", "style-art2photo"]
    first, second = (read_image(path).rgb for path, _ in gallery)
    assert first.shape == second.shape == (40, 48, 3) and not np.array_equal(first, second)
    assert all(handlers.workspace.contains(path) for path, _ in gallery)
    rows = table.splitlines()[2:]
    assert len(rows) == 2 and all(" s on CPU · 48×40 px | resnet_1blocks" in row for row in rows), table


def test_compare_refuses_what_it_cannot_compare(handlers, images):  # noqa: F811
    comparer, photo = Comparer(handlers), str(images["photo"])
    with pytest.raises(gr.Error, match="of one task.*custom, style-transfer"):
        comparer.compare(photo, ["style-photo2art", "my-custom"])
    with pytest.raises(gr.Error, match="not available"):
        comparer.compare(photo, ["style-photo2art", "../../etc/passwd"])
    with pytest.raises(gr.Error, match="Tick at least one"):
        comparer.compare(photo, [])
    with pytest.raises(gr.Error, match="Upload an image"):
        comparer.compare(None, ["style-photo2art"])
    with pytest.raises(gr.Error, match="notes.png: not an image file"):
        comparer.compare(str(images["not_image"]), ["style-photo2art"])


def test_compare_offers_the_tasks_with_models_and_rescans(handlers):
    tasks = [task for _, task in task_choices(handlers.registry)]
    assert tasks[:4] == ["style-transfer", "colorization", "super-resolution", "sketch-to-photo"]
    assert "custom" in tasks and default_task(handlers.registry) == "style-transfer"   # the task with two models
    picker = ComparePicker(*(gr.State() for _ in range(4)), handlers.registry)
    task, models, extract, run = picker.updated("sketch-to-photo")
    assert task["value"] == "sketch-to-photo" and models["value"] == ["sketch-to-photo"]
    assert extract["visible"] is True and run["interactive"] is True
    task, models, extract, _ = picker.updated("no-such-task")
    assert task["value"] == "style-transfer" and models["value"] == ["style-photo2art", "style-art2photo"]
    assert extract["visible"] is False


def test_batch_shows_a_thumbnail_per_translated_file(handlers, images):  # noqa: F811
    files = [str(images["photo"]), str(images["not_image"]), str(images["small"])]
    _, summary, gallery = handlers.batch(files, "super-resolution", 0, "png", False)
    assert [caption for _, caption in gallery] == ["photo.png → photo.png", "small.png → small.png"]
    thumbnail = read_image(gallery[1][0]).rgb
    assert thumbnail.shape == (80, 96 + 6 + 96, 3)   # the 24 x 20 input raised to the 96 x 80 output
    assert "- notes.png: not an image file" in summary
