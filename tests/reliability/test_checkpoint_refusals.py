"""Corrupt, foreign and pickled checkpoints through the CLI: one line naming the file, exit 1, nothing run."""
from __future__ import annotations

import logging
import os
import subprocess
from pathlib import Path

import pytest
import torch

from corpus import REPO_ROOT, TRANSLATION, no_traceback
from translation.cli import main
from translation.networks import GeneratorConfig, build_generator
from translation.training.checkpointing import checkpoint_path

pytestmark = pytest.mark.slow


class RunsCode:
    """Pickles as a call of ``os.mkdir(marker)``: loading it without weights_only would create ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_pickled_code_is_refused_by_export_in_one_line(tmp_path):
    marker = tmp_path / "code-ran"
    evil = tmp_path / "evil.pth"
    torch.save({"model.model.0.weight": torch.zeros(1), "payload": RunsCode(marker)}, evil)
    result = subprocess.run([*TRANSLATION, "export", str(evil), "-o", str(tmp_path / "evil.onnx")], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"error: {evil}: refused to load: the file holds pickled Python objects"), line
    assert "posix.mkdir" in line                      # what was refused, not torch's general advice
    assert not marker.exists() and not (tmp_path / "evil.onnx").exists()


def _tiny_generator_state() -> dict[str, torch.Tensor]:
    return build_generator(GeneratorConfig.named("unet_32", ngf=4)).state_dict()


def test_corrupt_and_foreign_checkpoints_are_named(tmp_path, capsys):
    whole = tmp_path / "whole.pth"
    torch.save(_tiny_generator_state(), whole)
    cases = {
        "empty.pth": b"",
        "text.pth": b"these are not weights\n",
        "truncated.pth": whole.read_bytes()[: whole.stat().st_size // 2],
    }
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
    torch.save({"fc.weight": torch.rand(10, 4), "fc.bias": torch.rand(10)}, tmp_path / "classifier.pth")
    torch.save({"model.model.0.weight": torch.rand(4, 3, 4, 4)}, tmp_path / "half-a-unet.pth")
    torch.save([1, 2, 3], tmp_path / "a-list.pth")
    expected = {"empty.pth": "not a readable PyTorch checkpoint", "text.pth": "not a readable PyTorch checkpoint",
                "truncated.pth": "not a readable PyTorch checkpoint", "classifier.pth": "not a generator state dict",
                "half-a-unet.pth": "lacks its outermost up-convolution", "a-list.pth": "holds no generator weights"}
    for name, reason in expected.items():
        target = tmp_path / f"{name}.onnx"
        assert main(["export", str(tmp_path / name), "-o", str(target)]) == 1, name
        (line,) = capsys.readouterr().err.splitlines()
        assert line.startswith(f"error: {tmp_path / name}: ") and reason in line, line
        no_traceback(line)
        assert not target.exists()



def test_resume_passes_over_foreign_and_pickled_checkpoints(tmp_path, capsys, caplog, one_torch_thread):
    from PIL import Image

    data = tmp_path / "photos"
    data.mkdir()
    for i in range(4):
        Image.new("RGB", (40, 40), (60 * i, 255 - 60 * i, 90)).save(data / f"{i}.png")
    run = tmp_path / "run"
    assert main(["train", "pix2pix", "--task", "colorization", "--data", str(data), "--out", str(run),
                 "--netG", "unet_32", "--ngf", "4", "--ndf", "4", "--load-size", "32", "--crop-size", "32",
                 "--workers", "0", "--device", "cpu", "--max-steps", "2", "--save-every", "2",
                 "--sample-every", "1000", "--val-fraction", "0.25"]) == 0
    marker = tmp_path / "code-ran"
    foreign, evil = checkpoint_path(run, 4), checkpoint_path(run, 6)
    torch.save({"fc.weight": torch.rand(10, 4)}, foreign)
    torch.save({"kind": "translation.checkpoint", "payload": RunsCode(marker)}, evil)
    capsys.readouterr()

    with caplog.at_level(logging.INFO, logger="translation"):
        assert main(["train", "pix2pix", "--out", str(run), "--resume"]) == 0
    messages = "\n".join(record.getMessage() for record in caplog.records)
    assert f"ignoring checkpoint {evil} (incomplete or corrupt: {evil}: refused to load" in messages
    assert f"ignoring checkpoint {foreign}: not a complete training checkpoint" in messages
    assert f"resuming from {checkpoint_path(run, 2)} (step 2)" in messages
    assert not marker.exists()
    capsys.readouterr()

    # nothing usable left: one clear error naming the folder
    checkpoint_path(run, 2).write_bytes(b"cut")
    assert main(["train", "pix2pix", "--out", str(run), "--resume"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"error: {run}: no complete checkpoint to resume from"), line
    assert not marker.exists()
