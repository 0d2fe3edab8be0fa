"""TensorBoard event files, read back with TensorBoard's own reader: every loss, learning rate, validation
score, images/s, the sample grids and the configuration as hparams; a resumed run logs each step once."""
from __future__ import annotations

import json

import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2

from translation.training import train
from translation.training.progress import RunProgress, clock
from translation.training.tensorboard_log import FOLDER

from test_resume import interrupted_copy
from training_fixtures import one_torch_thread, tiny, unpaired_data  # noqa: F401 - fixtures


def events(run) -> EventAccumulator:
    accumulator = EventAccumulator(str(run / FOLDER), size_guidance={"scalars": 0, "images": 0})
    accumulator.Reload()
    return accumulator


def test_event_files_hold_the_scalars_images_and_hparams(unpaired_data, tiny, tmp_path):
    settings = dict(mode="cut", epochs=1, epochs_decay=1, save_every=5, keep=0, sample_every=6, log_every=2)
    run = train(tiny("cut", unpaired_data, tmp_path / "run", **settings))
    board = events(run)
    tags = board.Tags()
    losses = [json.loads(line) for line in (run / "losses.jsonl").read_text().splitlines()]
    names = set(losses[0]) - {"step", "epoch", "lr"}
    assert {f"loss/{n}" for n in names} | {"lr/G", "lr/D", "speed/images_per_s", "validation/swd",
                                           "validation/swd_input"} <= set(tags["scalars"])
    # the same values as the JSON-lines log, at the same steps
    nce = board.Scalars("loss/NCE")
    assert [e.step for e in nce] == [r["step"] for r in losses] == [2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert np.allclose([e.value for e in nce], [r["NCE"] for r in losses])
    assert [e.value for e in board.Scalars("lr/G")][-1] == pytest.approx(losses[-1]["lr"]) == 1e-4  # float32
    assert all(e.value > 0 for e in board.Scalars("speed/images_per_s"))
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [(e.step, round(e.value, 3)) for e in board.Scalars("validation/swd")] == [
        (m["step"], round(m["swd"], 3)) for m in metrics]
    # the sample grids: 2 + 2 rows of 2 pictures of 32 px with 2 px gaps, as the PNGs
    samples = board.Images("samples")
    assert [e.step for e in samples] == [6, 12, 18]
    assert (samples[0].width, samples[0].height) == (32 * 2 + 2, 32 * 4 + 2 * 3)
    # the configuration as hparams, the validation score as their metric
    content = board.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"]).session_start_info
    assert start.hparams["netG"].string_value == "resnet_1blocks"
    assert start.hparams["cut.mode"].string_value == "cut" and start.hparams["cut.nce_patches"].number_value == 256
    experiment = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/experiment"]).experiment
    assert [m.name.tag for m in experiment.metric_infos] == ["validation/swd"]

    # A crash after step 10's checkpoint, then --resume: TensorBoard drops what came after step 10 and
    # each step is there once, in the order it was trained.
    resumed = interrupted_copy(run, tmp_path / "resumed", 10)
    train(tiny("cut", unpaired_data, resumed, resume=True, **settings))
    again = events(resumed)
    assert len(list((resumed / FOLDER).iterdir())) == 2  # one event file per session
    assert [e.step for e in again.Scalars("loss/NCE")] == [2, 4, 6, 8, 10, 12, 14, 16, 18]
    assert [e.step for e in again.Scalars("validation/swd")] == [m["step"] for m in metrics]


def test_progress_counts_the_whole_run(monkeypatch):
    now = [100.0]
    monkeypatch.setattr("translation.training.progress.time.monotonic", lambda: now[0])
    progress = RunProgress(total_steps=1000, done_steps=400, images_per_step=8, enabled=False)
    assert progress.remaining() is None
    for _ in range(10):
        now[0] += 0.5
        progress.advance()
    assert progress.images_per_second() == 16.0  # 10 steps of 8 images in 5 s
    now[0] += 5.0  # a validation: counted in the run's pace
    assert progress.remaining() == 10.0 / 10 * 590
    assert clock(progress.remaining()) == "9:50" and clock(3725) == "1:02:05"
