"""A task registered from outside the package reaches training, export, evaluation, the runtime and the app.

The toy task "invert" (rgb -> rgb: a photo's negative) lives in this file alone and is registered only
while these tests run, so nothing else sees it.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from translation.cli import main
from translation.imaging.io import read_image
from translation.tasks import AppTab, Measure, ModelUnderTest, Task, TaskSpec, register_task, unregister_task
from translation.tasks.processing import to_chw

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _invert_pair(spec: TaskSpec, rgb: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    return to_chw(rgb * 2.0 - 1.0), to_chw((1.0 - rgb) * 2.0 - 1.0)


def _invert_scores(model: ModelUnderTest, photo: np.ndarray, seed: int) -> dict[str, float]:
    output = model.translate(photo)
    return {"negative_l1": float(np.abs(output - (1.0 - photo)).mean()),
            "photo_l1": float(np.abs(output - photo).mean())}


INVERT = Task(
    spec=TaskSpec("invert", "rgb", "rgb"),
    make_pair=_invert_pair,
    measure=Measure("L1 against the photo's negative (and against the photo itself)", _invert_scores),
    app=AppTab("Invert", "invert", "Make a negative", "Turn a photo into its negative."),
)


@pytest.fixture(scope="module")
def invert_task():
    register_task(INVERT)
    yield INVERT
    unregister_task(INVERT.name)



@pytest.fixture(scope="module")
def photos(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("invert-photos")
    rng = np.random.default_rng(0)
    for i in range(4):
        image = np.full((36, 40, 3), rng.integers(0, 256, 3), np.uint8)
        cv2.circle(image, (20, 18), 9, tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
        assert cv2.imwrite(str(folder / f"photo{i}.png"), image)
    return folder


@pytest.fixture(scope="module")
def trained(invert_task, photos, tmp_path_factory) -> Path:
    """``translation train pix2pix --task invert`` for two steps: the run folder."""
    run = tmp_path_factory.mktemp("invert-run") / "run"
    assert main(["train", "pix2pix", "--task", "invert", "--data", str(photos), "--out", str(run),
                 "--netG", "unet_32", "--ngf", "4", "--ndf", "4", "--crop-size", "32", "--load-size", "32",
                 "--max-steps", "2", "--val-fraction", "0.25", "--workers", "0", "--device", "cpu"]) == 0
    return run


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory) -> Path:
    from translation.export import export_generator

    return export_generator(trained / "checkpoints" / "step_000000002.pt", tmp_path_factory.mktemp("invert-models")
                            / "invert.onnx")


def test_training_makes_pairs_with_the_task(trained):
    from translation.networks.checkpoint import load_generator

    _, config, info = load_generator(trained / "checkpoints" / "step_000000002.pt")
    assert info["task"] == "invert" and info["layout"] == "photos"  # plain photos: its own pair maker
    assert (config.in_channels, config.out_channels) == (3, 3)
    first = json.loads((trained / "metrics.jsonl").read_text().splitlines()[0])
    assert first["images"] == 1  # one of four photos held out, and validated as an invert pair


def test_the_exported_model_is_an_invert_model_for_the_runtime(invert_task, exported, photos):
    from translation.runtime import Engine, translate

    engine = Engine(exported, threads=1)
    assert engine.info.metadata["task"] == "invert" and engine.info.task == invert_task.spec
    result = translate(photos / "photo0.png", engine)
    assert result.rgb.shape == read_image(photos / "photo0.png").rgb.shape


def test_eval_uses_the_tasks_own_measure(exported, photos, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    assert main(["eval", "--model", str(exported), "--photos", str(photos), "--json", str(out)]) == 0
    written = json.loads(out.read_text())
    assert written["task"] == "invert" and written["images"] == 4
    assert set(written["summary"]) == {"negative_l1", "photo_l1"}
    assert "negative_l1" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["eval", "--help"])
    assert "L1 against the photo's negative" in capsys.readouterr().out


def test_the_app_has_a_tab_and_an_endpoint_for_it(invert_task, exported, photos, tmp_path):
    from translation.app.handlers import AppHandlers
    from translation.app.models import ModelRegistry
    from translation.app.ui import build_demo
    from translation.app.workspace import Workspace

    handlers = AppHandlers(ModelRegistry([exported.parent], threads=1), Workspace(tmp_path / "ws"))
    config = build_demo(handlers, examples_dir=None).get_config_file()
    tabs = [c["props"] for c in config["components"] if c["type"] == "tabitem"]
    assert {"label": "Invert", "id": "invert"}.items() <= next(t for t in tabs if t.get("id") == "invert").items()
    assert [t["id"] for t in tabs if t.get("id") in ("custom", "invert")] == ["invert", "custom"]  # after the others
    assert "invert" in {d.get("api_name") for d in config["dependencies"]}
    (before, after), download, summary = handlers.invert(str(photos / "photo1.png"), "invert", 0, "png")
    assert read_image(download).rgb.shape == (36, 40, 3) and "invert" in summary
