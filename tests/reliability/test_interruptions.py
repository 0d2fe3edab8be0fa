"""SIGKILL in the middle of a write, then the same command again: nothing lost, nothing twice, nothing broken.

The kills are real: the CLI runs in a subprocess and is killed the moment inotify reports data going
into one of its temp files, i.e. while an output image or a training checkpoint is half written.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from corpus import REPO_ROOT, TRANSLATION, FileEvents, checksums, no_traceback, photo, tiny_models  # noqa: F401
from translation.atomic import TEMP_PREFIX
from translation.imaging.io import read_image, write_image
from translation.networks.checkpoint import load_generator, read_checkpoint
from translation.training.checkpointing import checkpoint_path, list_checkpoints

pytestmark = pytest.mark.slow

ENV = {**os.environ, "OMP_NUM_THREADS": "1"}   # one thread per process: far faster on a shared 2-core machine
ATTEMPTS = 4                                     # a kill that lands just after a write finished is tried again


def start(args: list[str], log: Path) -> subprocess.Popen:
    with open(log, "ab") as handle:
        return subprocess.Popen([*TRANSLATION, *args], cwd=REPO_ROOT, env=ENV, stdout=handle, stderr=subprocess.STDOUT)


def kill_during_a_write(process: subprocess.Popen, events: FileEvents, *, skip: int, timeout: float) -> bool:
    """SIGKILL ``process`` once data goes into its ``skip + 1``-th temp file; False if it ended first.

    A file's first write event is its opening (truncation to 0 bytes), the second its first data.
    """
    counts: dict[str, int] = {}
    deadline = time.monotonic() + timeout
    while True:
        name = events.wait_for_write(TEMP_PREFIX, 0.5)
        if name is None:
            if process.poll() is None and time.monotonic() < deadline:
                continue
            process.kill()
            process.wait(timeout=30)
            return False
        counts[name] = counts.get(name, 0) + 1
        if len(counts) > skip and counts[name] >= 2:
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return process.returncode == -signal.SIGKILL


def half_written(folder: Path) -> list[Path]:
    """Temp files the killed process left with data in them (all of it, when killed during the fsync)."""
    return [p for p in folder.glob(f"{TEMP_PREFIX}*") if p.stat().st_size > 0]


# ------------------------------------------------------------------------------------ convert

@pytest.mark.timeout(240)
def test_convert_killed_while_writing_an_output_then_rerun(tiny_models, tmp_path):  # noqa: F811
    source, out = tmp_path / "in", tmp_path / "out"
    names = [f"img{i:02d}" for i in range(16)]
    for i, name in enumerate(names):
        write_image(source / f"{name}.jpg", photo(320, 384, i), quality=90)
    before = checksums(source)
    out.mkdir()
    command = ["convert", "--model", str(tiny_models / "colorization.onnx"), str(source), "-o", str(out),
               "--threads", "1", "--workers", "1"]
    log = tmp_path / "convert.log"

    leftover: list[Path] = []
    with FileEvents(out) as events:
        for _ in range(ATTEMPTS):
            process = start(command, log)
            assert kill_during_a_write(process, events, skip=2, timeout=120), log.read_text()
            leftover = half_written(out)
            if leftover:
                break
    assert leftover, f"no kill landed during a write in {ATTEMPTS} attempts"
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("img*.png")}
    assert 2 <= len(done) < len(names)

    result = subprocess.run([*TRANSLATION, *command], cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert f"skipping {len(done)} image(s) already converted" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{name}.png" for name in names)  # once each, no temp
    for name in names:
        assert read_image(out / f"{name}.png").rgb.shape == (320, 384, 3)                    # complete
    assert {name: (out / name).stat().st_mtime_ns for name in done} == done                 # kept, not redone
    assert checksums(source) == before
    no_traceback(log.read_text(), result.stderr)


# ------------------------------------------------------------------------------------ training

def aligned_dataset(root: Path) -> Path:
    """[A | B] pairs where B is A inverted, as a facades-style folder."""
    rng = np.random.default_rng(0)
    for split, count in (("train", 8), ("val", 2)):
        for i in range(count):
            a = np.full((32, 32, 3), rng.integers(0, 256, 3), np.uint8)
            cv2.circle(a, (16, 16), int(rng.integers(4, 12)), tuple(int(c) for c in rng.integers(0, 256, 3)), -1)
            write_image(root / split / f"{i:03d}.png", np.concatenate([a, 255 - a], axis=1))
    return root


TOTAL_STEPS = 24


@pytest.mark.timeout(240)
def test_training_killed_while_writing_a_checkpoint_resumes_from_the_last_complete_one(tmp_path):
    data, run = aligned_dataset(tmp_path / "data"), tmp_path / "run"
    folder = run / "checkpoints"
    folder.mkdir(parents=True)  # watched from the start; a fresh run may begin in an existing empty folder
    first = ["train", "pix2pix", "--data", str(data), "--out", str(run), "--netG", "unet_32", "--ngf", "4",
             "--ndf", "4", "--load-size", "32", "--crop-size", "32", "--workers", "0", "--device", "cpu",
             "--save-every", "2", "--keep", "2", "--sample-every", "1000", "--log-every", "1", "--max-steps", str(TOTAL_STEPS)]
    resume = ["train", "pix2pix", "--out", str(run), "--resume"]
    log = tmp_path / "train.log"

    leftover: list[Path] = []
    with FileEvents(folder) as events:
        for attempt in range(ATTEMPTS):
            process = start(first if attempt == 0 else resume, log)
            # the second write at the earliest: a complete checkpoint exists to resume from
            assert kill_during_a_write(process, events, skip=1, timeout=120), log.read_text()
            leftover = half_written(folder)
            if leftover:
                break
    assert leftover, f"no kill landed during a checkpoint write in {ATTEMPTS} attempts"
    complete = list_checkpoints(run)
    newest = complete[-1][0]
    assert newest < TOTAL_STEPS
    for _, path in complete:
        read_checkpoint(path)                           # what is there under a final name is whole

    result = subprocess.run([*TRANSLATION, *resume], cwd=REPO_ROOT, env=ENV, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    assert f"resuming from {checkpoint_path(run, newest)} (step {newest})" in result.stderr
    for path in leftover:
        assert f"ignoring {path}" in result.stderr and not path.exists()   # did not count, and is gone
    assert [step for step, _ in list_checkpoints(run)] == [TOTAL_STEPS - 2, TOTAL_STEPS]
    net, config, info = load_generator(run / "latest_net_G.pth")
    assert config.ngf == 4
    assert load_generator(checkpoint_path(run, TOTAL_STEPS))[2]["steps"] == TOTAL_STEPS
    steps = [json.loads(line)["step"] for line in (run / "losses.jsonl").read_text().splitlines()]
    assert steps == list(range(1, TOTAL_STEPS + 1))     # every step logged once: nothing lost or repeated
    no_traceback(log.read_text(), result.stderr)
