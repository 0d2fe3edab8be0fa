"""The app's handlers called directly (no server, no browser) with tiny exported models."""
from __future__ import annotations

import zipfile
from pathlib import Path

import gradio as gr
import numpy as np
import pytest
from app_fixtures import images, tiny_models  # noqa: F401 - fixtures

from translation.app.cards import model_card
from translation.app.handlers import AppHandlers
from translation.app.models import ModelRegistry
from translation.app.server import AppConfig, parse_size
from translation.app.ui import build_demo, example_images
from translation.app.workspace import Workspace, safe_stem
from translation.cli import main as cli_main
from translation.imaging.colour import rgb_to_lab
from translation.imaging.io import read_image
from translation.errors import TranslationError


@pytest.fixture(scope="module")
def handlers(tiny_models, tmp_path_factory) -> AppHandlers:  # noqa: F811
    workspace = Workspace(tmp_path_factory.mktemp("workspace"))
    return AppHandlers(ModelRegistry([tiny_models], threads=1), workspace, max_batch_files=5)


class Recorder:
    """Stands in for gr.Progress: records what the handler reports."""

    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def __call__(self, progress, desc=None, total=None, unit="steps") -> None:
        self.calls.append((progress, desc))


def _check_output(handlers: AppHandlers, result, source: Path, expected_size: tuple[int, int]) -> np.ndarray:
    (before, after), download, summary = result
    before, after = read_image(before).rgb, read_image(after).rgb  # the slider's previews are files
    path = Path(download)
    assert handlers.workspace.contains(path) and path.is_file()
    output = read_image(path).rgb
    assert (output.shape[1], output.shape[0]) == expected_size
    assert before.shape[:2] == after.shape[:2] == output.shape[:2]  # previews line up in the slider
    source_pixels = read_image(source).rgb
    if source_pixels.shape == output.shape:
        assert np.abs(source_pixels.astype(int) - output.astype(int)).mean() > 1.0
    assert "CPU" in summary and path.name in summary
    return output


def test_every_task_translates_an_upload(handlers, images):  # noqa: F811
    photo, gray = images["photo"], images["gray"]
    _check_output(handlers, handlers.colorize(str(gray), "colorization", 0, "png"), gray, (48, 40))
    _check_output(handlers, handlers.super_resolve(str(photo), "super-resolution", 0, "png"), photo, (192, 160))
    _check_output(handlers, handlers.style_transfer(str(photo), "photo2art", 0, "png"), photo, (48, 40))
    _check_output(handlers, handlers.style_transfer(str(photo), "art2photo", 0, "png"), photo, (48, 40))
    _check_output(handlers, handlers.sketch_to_photo(str(photo), True, "sketch-to-photo", 0, "png"), photo, (48, 40))
    _check_output(handlers, handlers.custom(str(photo), "my-custom", 0, "png"), photo, (48, 40))


def test_colorization_adds_colour_to_a_gray_photo(handlers, images):  # noqa: F811
    _, download, _ = handlers.colorize(str(images["gray"]), "colorization", 0, "png")
    rgb = read_image(download).rgb.astype(int)
    assert np.abs(rgb[:, :, 0] - rgb[:, :, 2]).max() > 0  # not gray any more


def test_colour_strength_scales_the_predicted_colour_and_keeps_the_lightness(handlers, images):  # noqa: F811
    gray = str(images["gray"])
    lab = {}
    for strength in (0.5, 1.5):
        _, download, _ = handlers.colorize(gray, "colorization", 0, "png", strength)
        lab[strength] = rgb_to_lab(read_image(download).to_float())
    muted, vivid = (np.hypot(lab[s][..., 1], lab[s][..., 2]) for s in (0.5, 1.5))
    assert vivid.mean() > 0.5 and vivid.mean() == pytest.approx(3 * muted.mean(), rel=0.1)
    # the same lightness, but where vivid colour leaves the sRGB gamut (and 8-bit rounding)
    assert np.abs(lab[0.5][..., 0] - lab[1.5][..., 0]).mean() < 0.5
    with pytest.raises(gr.Error, match="colour strength 3 is out of range: use 0.25 to 2"):
        handlers.colorize(gray, "colorization", 0, "png", 3.0)


def test_style_transfer_directions_use_different_models(handlers, images):  # noqa: F811
    _, first, _ = handlers.style_transfer(str(images["photo"]), "photo2art", 0, "png")
    _, second, _ = handlers.style_transfer(str(images["photo"]), "art2photo", 0, "png")
    assert not np.array_equal(read_image(first).rgb, read_image(second).rgb)


def test_sketch_from_photo_shows_the_extracted_line_drawing(handlers, images):  # noqa: F811
    (before, _), _, _ = handlers.sketch_to_photo(str(images["photo"]), True, "sketch-to-photo", 0, "png")
    before = read_image(before).rgb
    assert np.array_equal(before[:, :, 0], before[:, :, 1])  # gray lines, not the colour photo
    assert before.max() > 200 and before.min() < 100          # white paper with dark lines
    (plain, _), _, _ = handlers.sketch_to_photo(str(images["photo"]), False, "sketch-to-photo", 0, "png")
    plain = read_image(plain).rgb
    assert not np.array_equal(plain[:, :, 0], plain[:, :, 2])  # used as uploaded


def test_a_drawing_from_the_sketchpad(handlers, tmp_path):
    from translation.imaging.io import write_image

    strokes = np.zeros((64, 64, 4), np.uint8)  # transparent canvas, as the sketchpad sends it
    strokes[20:24, 8:56, 3] = 255              # one black line
    drawing = {"background": None, "layers": [], "composite": str(write_image(tmp_path / "d.png", strokes))}
    (before, after), download, _ = handlers.sketch_drawing_to_photo(drawing, "sketch-to-photo", 0, "webp")
    before = read_image(before).rgb
    assert before[30, 30, 0] == 255 and before[21, 30, 0] == 0  # flattened onto white paper
    assert download.endswith(".webp") and read_image(download).rgb.shape == (64, 64, 3)

    blank = {"background": None, "layers": [], "composite": str(write_image(tmp_path / "b.png", strokes * 0))}
    for empty in (blank, None, {"composite": None}):
        with pytest.raises(gr.Error, match="empty"):
            handlers.sketch_drawing_to_photo(empty, "sketch-to-photo", 0, "png")


@pytest.mark.parametrize("fmt", ["png", "jpg", "webp"])
def test_download_in_the_chosen_format(handlers, images, fmt):  # noqa: F811
    _, download, _ = handlers.custom(str(images["photo"]), "my-custom", 0, fmt)
    assert Path(download).suffix == f".{fmt}" and Path(download).name.startswith("photo-")
    assert read_image(download).rgb.shape == (40, 48, 3)


def test_tiling_reports_progress(handlers, images):  # noqa: F811
    recorder = Recorder()
    # 64 px tiles over a 192 x 160 super-resolution input: several tiles
    (_, after), download, _ = handlers.super_resolve(str(images["photo"]), "super-resolution", 64, "png", recorder)
    assert read_image(download).rgb.shape == (160, 192, 3)
    tiles = [p for p, desc in recorder.calls if desc == "translating"]
    assert tiles and tiles[-1][0] == tiles[-1][1] > 1


def test_bad_uploads_give_a_readable_reason(handlers, images, tmp_path):  # noqa: F811
    with pytest.raises(gr.Error) as caught:
        handlers.colorize(str(images["not_image"]), "colorization", 0, "png")
    assert "notes.png: not an image file" in caught.value.message
    assert str(images["not_image"].parent) not in caught.value.message  # no server paths in the page

    truncated = tmp_path / "cut.png"
    truncated.write_bytes(images["photo"].read_bytes()[:200])
    with pytest.raises(gr.Error, match="cut.png: truncated or corrupt"):
        handlers.custom(str(truncated), "my-custom", 0, "png")
    with pytest.raises(gr.Error, match="Upload an image first"):
        handlers.super_resolve(None, "super-resolution", 0, "png")
    with pytest.raises(gr.Error, match="not an image"):
        handlers.inspect_upload(str(images["not_image"]))
    assert handlers.inspect_upload(str(images["photo"])) == "48×40 px · 8-bit RGB"


def test_too_many_pixels_is_refused(tiny_models, images, tmp_path):  # noqa: F811
    strict = AppHandlers(ModelRegistry([tiny_models]), Workspace(tmp_path / "ws"), max_pixels=1000)
    with pytest.raises(gr.Error, match="exceeds"):
        strict.custom(str(images["photo"]), "my-custom", 0, "png")


def test_requests_cannot_name_paths_or_wrong_models(handlers, images):  # noqa: F811
    photo = str(images["photo"])
    for model in ("../../etc/passwd", str(handlers.registry.get("my-custom").path), "nope"):
        with pytest.raises(gr.Error, match="not available"):
            handlers.custom(photo, model, 0, "png")
    with pytest.raises(gr.Error, match="is a colorization model, not super-resolution"):
        handlers.super_resolve(photo, "colorization", 0, "png")
    with pytest.raises(gr.Error, match="format"):
        handlers.custom(photo, "my-custom", 0, "../x")
    with pytest.raises(gr.Error, match="tile size"):
        handlers.custom(photo, "my-custom", -5, "png")


def test_output_names_stay_in_the_workspace(tmp_path):
    workspace = Workspace(tmp_path / "ws")
    assert safe_stem("../../etc/passwd") == "passwd"
    assert safe_stem("/x/..hidden file;rm -rf.png") == "hidden_file_rm_-rf"
    assert safe_stem("") == "image"
    folder = workspace.new_folder()
    path = workspace.output_path(folder, "../../../evil.png", "../model", "png")
    assert path.parent == folder and path.name == "evil-model.png"
    workspace.cleanup()
    assert not workspace.root.exists()


def test_batch_zips_outputs_and_lists_skipped_files(handlers, images):  # noqa: F811
    recorder = Recorder()
    files = [str(images["photo"]), str(images["small"]), str(images["not_image"]), str(images["photo"])]
    archive, summary, _ = handlers.batch(files, "my-custom", 0, "jpg", False, recorder)
    with zipfile.ZipFile(archive) as zipped:
        names = sorted(zipped.namelist())
    assert names == ["photo-2.jpg", "photo.jpg", "small.jpg"]
    assert "3 of 4" in summary and "notes.png: not an image file" in summary
    assert recorder.calls[0][0] == (0, 4) and recorder.calls[-1][0] == (4, 4)

    with pytest.raises(gr.Error, match="None of the files"):
        handlers.batch([str(images["not_image"])], "my-custom", 0, "png", False)
    with pytest.raises(gr.Error, match="more than the 5"):
        handlers.batch([str(images["photo"])] * 6, "my-custom", 0, "png", False)
    with pytest.raises(gr.Error, match="Add some images"):
        handlers.batch([], "my-custom", 0, "png", False)


def test_model_card_and_device(handlers, images):  # noqa: F811
    card = handlers.describe_model("super-resolution")
    for expected in ("super-resolution", "×4", "resnet_1blocks", "random weights (tests)", "super-resolution.onnx"):
        assert expected in card
    handlers.super_resolve(str(images["small"]), "super-resolution", 0, "png")
    assert "| Device | CPU |" in handlers.describe_model("super-resolution")
    assert "style-photo2art" in handlers.describe_model("photo2art", "style-transfer")
    info = handlers.registry.get("my-custom")
    assert "| Device | CUDA |" in model_card(info, "CUDA")


def test_the_page_without_any_model(monkeypatch, tmp_path):
    import translation.runtime.models as runtime_models

    monkeypatch.setattr(runtime_models, "DEFAULT_MODELS_DIR", tmp_path / "exports-missing")
    monkeypatch.delenv("TRANSLATION_MODELS", raising=False)
    handlers = AppHandlers(ModelRegistry(), Workspace(tmp_path / "ws"))
    demo = build_demo(handlers, examples_dir=tmp_path / "no-examples")
    config = demo.get_config_file()
    notices = [c["props"]["value"] for c in config["components"]
               if c["type"] == "markdown" and "No " in str(c["props"].get("value"))]
    assert len(notices) == 5  # four task tabs and the custom tab say the model is missing
    buttons = {c["props"]["value"]: c["props"]["interactive"] for c in config["components"]
               if c["type"] == "button"}
    assert buttons["Colorize"] is False and buttons["Upscale"] is False
    with pytest.raises(gr.Error, match="not available"):
        handlers.colorize(str(tmp_path), "colorization", 0, "png")


def test_examples_come_from_the_task_folder(tmp_path):
    assert example_images("colorization", tmp_path / "missing") == []
    (tmp_path / "colorization").mkdir()
    assert example_images("colorization", tmp_path) == []
    (tmp_path / "colorization" / "b.jpg").write_bytes(b"x")
    (tmp_path / "colorization" / "a.png").write_bytes(b"x")
    (tmp_path / "colorization" / "README.txt").write_text("not an example")
    assert [Path(p).name for p in example_images("colorization", tmp_path)] == ["a.png", "b.jpg"]


def test_launch_options_are_checked(tmp_path, capsys):
    assert parse_size("20MB") == 20 * 1024 ** 2 and parse_size("512kb") == 512 * 1024 and parse_size(1000) == 1000
    with pytest.raises(TranslationError, match="max-file-size"):
        parse_size("lots")
    with pytest.raises(TranslationError, match="folder not found"):
        AppConfig(models_dirs=(tmp_path / "missing",)).check()
    assert cli_main(["app", "--max-file-size", "0MB"]) == 1
    assert cli_main(["app", "--models", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: --max-file-size '0MB': the limit must be more than 0 bytes",
                   f"error: --models {tmp_path / 'missing'}: folder not found"]


def test_old_outputs_are_pruned(tmp_path):
    import os

    workspace = Workspace(tmp_path / "ws", keep_seconds=3600)
    old, fresh = workspace.new_folder(), workspace.new_folder()
    os.utime(old, (0, 0))
    workspace.prune()
    assert not old.exists() and fresh.exists()


def test_raw_gradio_payloads_are_accepted(handlers, images):  # noqa: F811
    payload = {"path": str(images["photo"]), "orig_name": "photo.png", "meta": {"_type": "gradio.FileData"}}
    _, download, _ = handlers.custom(payload, "my-custom", 0, "png")
    assert Path(download).name == "photo-my-custom.png"
    assert handlers.inspect_upload(payload) == "48×40 px · 8-bit RGB"


def test_model_runs_share_one_bounded_queue(handlers):
    demo = build_demo(handlers, concurrency=2)
    runs = {fn.api_name: fn for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert set(runs) == {"style_transfer", "colorize", "super_resolve", "sketch_to_photo",
                         "sketch_drawing_to_photo", "sketch_drawing_to_photo_live", "custom", "compare", "batch",
                         "translate_video"}
    for name, fn in runs.items():
        # the live redraw reads the strokes the sketchpad sent ahead (by id) through Gradio's preprocessing
        preprocess = name == "sketch_drawing_to_photo_live"
        assert (fn.concurrency_id, fn.concurrency_limit, fn.preprocess) == ("inference", 2, preprocess), name


def test_models_exported_later_appear_on_rescan(tiny_models, tmp_path):  # noqa: F811
    import shutil

    folder = tmp_path / "models"
    folder.mkdir()
    registry = ModelRegistry([folder])
    assert "late" not in registry.names()
    shutil.copyfile(tiny_models / "my-custom.onnx", folder / "late.onnx")
    registry.refresh()
    assert "late" in registry.names("custom")
