"""--resume continues exactly: the same final weights as a run that was never interrupted (with the
small-data options too: DiffAugment draws, weight averages, spectral-norm vectors, the best checkpoint)."""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest
import torch

from translation.errors import TranslationError
from translation.training import train
from translation.training.checkpointing import best_checkpoint_path, checkpoint_path, list_checkpoints

from training_fixtures import aligned_data, one_torch_thread, tiny, unpaired_data  # noqa: F401 - fixtures

STEPS = 30  # 16 (pix2pix) or 9 (cyclegan) steps per epoch: the run crosses epochs and the lr decay
SMALL_DATA = {"pix2pix": dict(diffaugment="color,translation,cutout", ema=0.9, spectral_norm=True, upsample="resize"),
              "cyclegan": dict(diffaugment="translation,cutout,color", ema=0.9, spectral_norm=True)}


def weights(run: Path, names: list[str]) -> dict[str, dict[str, torch.Tensor]]:
    return {n: torch.load(run / f"latest_net_{n}.pth", weights_only=True) for n in names}


def assert_identical(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        assert a[name].keys() == b[name].keys()
        for key in a[name]:
            assert torch.equal(a[name][key], b[name][key]), f"{name}.{key} differs"


def interrupted_copy(run: Path, target: Path, last_step: int) -> Path:
    """The run folder as a crash right after ``last_step``'s checkpoint would have left it."""
    shutil.copytree(run, target)
    for step, path in list_checkpoints(target):
        if step > last_step:
            path.unlink()
    for path in target.glob("latest_net_*.pth"):
        path.unlink()
    return target


@pytest.mark.parametrize("small_data", [False, True], ids=["plain", "small-data options"])
@pytest.mark.parametrize("model,data", [("pix2pix", "aligned_data"), ("cyclegan", "unpaired_data")])
def test_resumed_run_is_bit_identical(model, data, small_data, tiny, tmp_path, request):
    data = request.getfixturevalue(data)
    names = ["G"] if model == "pix2pix" else ["G_A", "G_B"]
    settings = dict(epochs=3, epochs_decay=2, save_every=7, keep=0, max_steps=STEPS,
                    **(SMALL_DATA[model] if small_data else {}))
    if model == "cyclegan":
        settings["pool_size"] = 4  # a family option, saved and restored with the image pools
    straight = train(tiny(model, data, tmp_path / "straight", **settings))

    # A crash after step 14 (mid-epoch): resume from there, with data-loading workers this time.
    resumed = interrupted_copy(straight, tmp_path / "resumed", 14)
    train(tiny(model, data, resumed, resume=True, **{**settings, "workers": 1}))
    assert_identical(weights(straight, names), weights(resumed, names))
    for log in ("losses.jsonl", "metrics.jsonl"):  # what the crashed run logged after step 14 is logged once
        if (straight / log).exists():
            assert (resumed / log).read_text().count("\n") == (straight / log).read_text().count("\n")
    steps = [json.loads(line)["step"] for line in (resumed / "losses.jsonl").read_text().splitlines()]
    assert steps == list(range(1, STEPS + 1))

    # A run stopped early with --max-steps and continued with a larger one.
    stopped = train(tiny(model, data, tmp_path / "stopped", **{**settings, "max_steps": 17}))
    train(tiny(model, data, stopped, resume=True, **settings))
    assert_identical(weights(straight, names), weights(stopped, names))
    a = torch.load(checkpoint_path(straight, STEPS), weights_only=True)
    b = torch.load(checkpoint_path(stopped, STEPS), weights_only=True)
    assert_identical(a["networks"], b["networks"])
    assert_identical({n: s["state"][0] for n, s in a["optimizers"].items()},
                     {n: s["state"][0] for n, s in b["optimizers"].items()})
    assert (a["epoch"], a["data_order"]["batches_done"]) == (b["epoch"], b["data_order"]["batches_done"])
    assert a["best"] == b["best"] and a["best"]["step"] in (9, 16, 18, 27)  # after an epoch
    best_a, best_b = (torch.load(best_checkpoint_path(run), weights_only=True) for run in (straight, stopped))
    assert_identical(best_a["networks"], best_b["networks"])
    assert best_a["info"]["best"] == a["best"]
    if small_data:
        assert_identical({n: e["weights"] for n, e in a["ema"].items()}, {n: e["weights"] for n, e in b["ema"].items()})
        assert_identical({n: e["weights"] for n, e in best_a["ema"].items()},
                         {n: e["weights"] for n, e in best_b["ema"].items()})
        assert torch.equal(a["ranks"][0]["diffaugment"]["generator"], b["ranks"][0]["diffaugment"]["generator"])
        discriminator = "D" if model == "pix2pix" else "D_A"
        assert any(key.endswith("parametrizations.weight.0._u") for key in a["networks"][discriminator])
        # latest_net_*.pth hold the averages, which differ from the trained weights
        assert_identical(weights(straight, names), {n: e["weights"] for n, e in a["ema"].items()})
        live, averaged = a["networks"][names[0]], a["ema"][names[0]]["weights"]
        assert not all(torch.equal(live[key], averaged[key]) for key in live)


def test_interrupted_checkpoint_writes_are_ignored(aligned_data, tiny, tmp_path, caplog):
    settings = dict(epochs=1, epochs_decay=1, save_every=8, keep=0)  # 16 steps per epoch, 32 in all
    straight = train(tiny("pix2pix", aligned_data, tmp_path / "straight", **settings))

    run = interrupted_copy(straight, tmp_path / "crashed", 24)
    newest = checkpoint_path(run, 24)
    newest.write_bytes(newest.read_bytes()[: newest.stat().st_size // 2])  # truncated mid-write
    leftover = run / "checkpoints" / ".tmp-abc123.pt"
    leftover.write_bytes(b"half a checkpoint")  # an atomic write that never got renamed
    with caplog.at_level(logging.INFO, logger="translation"):
        train(tiny("pix2pix", aligned_data, run, resume=True, **settings))
    messages = "\n".join(r.getMessage() for r in caplog.records)
    assert f"ignoring {leftover}" in messages
    assert f"ignoring checkpoint {newest}" in messages
    assert f"resuming from {checkpoint_path(run, 16)} (step 16)" in messages
    # Step 16 ended epoch 0: the resumed run does that epoch's end (schedule, validation) itself.
    assert_identical(weights(straight, ["G"]), weights(run, ["G"]))
    for log in ("losses.jsonl", "metrics.jsonl"):
        assert (run / log).read_text() == (straight / log).read_text()
    assert [s for s, _ in list_checkpoints(run)] == [8, 16, 24, 32]  # the broken one was rewritten

    caplog.clear()  # resuming the finished run trains nothing and says how far it went
    with caplog.at_level(logging.INFO, logger="translation"):
        train(tiny("pix2pix", aligned_data, run, resume=True, **settings))
    assert f"done: 32 steps, 2 epochs; run folder {run}" in "\n".join(r.getMessage() for r in caplog.records)
    assert_identical(weights(straight, ["G"]), weights(run, ["G"]))
    assert [s for s, _ in list_checkpoints(run)] == [8, 16, 24, 32]


def test_resume_refusals(aligned_data, tiny, tmp_path):
    run = tmp_path / "run"
    with pytest.raises(TranslationError, match="no complete checkpoint to resume"):
        train(tiny("pix2pix", aligned_data, run, resume=True))
    train(tiny("pix2pix", aligned_data, run, max_steps=3))
    with pytest.raises(TranslationError, match="already holds a training run"):
        train(tiny("pix2pix", aligned_data, run, max_steps=3))
