"""Batch conversion on Ray Data, on a local Ray instance started here (2 CPUs): the same outputs, errors,
skipping and exit code as the local path, and every output written once when an actor is killed mid-run."""
from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import psutil
import pytest
import ray

from convert_fixtures import digest, export_tiny_style_model, photo, write_two_good_and_a_truncated

from translation.atomic import TEMP_PREFIX
from translation.cli import main
from translation.convert import ConvertOptions, convert
from translation.convert_ray import (MAX_FILES_PER_BATCH, MIN_FILES_PER_BATCH, RayOptions, convert_on_ray,
                                     files_per_batch)
from translation.imaging.io import read_image, write_image
from translation.runtime import Engine

pytestmark = pytest.mark.timeout(300)

ONE_THREAD = RayOptions(actors=2, threads=1, device="cpu", files_per_batch=2)


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return export_tiny_style_model(tmp_path_factory.mktemp("ray-models"))


def test_ray_outputs_are_bit_identical_to_the_local_path_and_a_rerun_skips_all(local_ray, model, tmp_path):
    src = tmp_path / "in"
    write_image(src / "a.png", photo(40, 56))
    write_image(src / "b.jpg", photo(33, 47, 1), quality=90)
    write_image(src / "sub" / "c.png", photo(90, 70, 2))         # three tiles of 64 with --tile-size 64
    write_image(src / "sub" / "alpha.png", photo(24, 30, 3), np.full((24, 30), 128, np.uint8))
    cv2.imwrite(str(src / "deep.png"), (photo(20, 28, 4).astype(np.uint16) * 257 + 5)[:, :, ::-1])
    options = ConvertOptions(recursive=True, tile_size=64)
    before = digest(src)

    local = convert([src], tmp_path / "local", Engine(model, threads=1), options)
    on_ray = convert_on_ray([src], tmp_path / "ray", model, options, ONE_THREAD)
    assert (local.converted, local.failed) == (5, 0)
    assert (on_ray.converted, on_ray.skipped, on_ray.failed) == (5, 0, 0)
    assert digest(tmp_path / "ray") == digest(tmp_path / "local")     # the same bytes, file by file
    assert digest(src) == before

    # an actor of two CPU threads converts its batches in two lanes of one thread, to the same bytes
    two_lanes = convert_on_ray([src], tmp_path / "ray-lanes", model, options,
                               RayOptions(actors=1, threads=2, device="cpu", files_per_batch=5))
    assert (two_lanes.converted, two_lanes.failed) == (5, 0)
    assert digest(tmp_path / "ray-lanes") == digest(tmp_path / "local")

    stamps = {p: p.stat().st_mtime_ns for p in (tmp_path / "ray").rglob("*.png")}
    again = convert_on_ray([src], tmp_path / "ray", model, options, ONE_THREAD)
    assert (again.converted, again.skipped, again.failed) == (0, 5, 0)
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "ray").rglob("*.png")} == stamps


def test_cli_on_ray_names_and_counts_a_bad_file_and_exits_1(local_ray, model, tmp_path, capsys):
    src = tmp_path / "in"
    write_two_good_and_a_truncated(src)
    out = tmp_path / "out"

    assert main(["convert", "--model", str(model), str(src), "-o", str(out), "--threads", "1", "--ray"]) == 1
    err = capsys.readouterr().err
    failures = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 1 and failures[0].startswith(f"failed: {src / 'truncated.jpg'}: truncated or corrupt")
    assert "on Ray: 3 image(s)" in err and "converted 2, skipped 0, failed 1" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["good1.png", "good2.png"]
    # the run is resumable as the local one is: the bad file is tried again, the others skipped
    assert main(["convert", "--model", str(model), str(src), "-o", str(out), "--threads", "1", "--ray"]) == 1
    err = capsys.readouterr().err
    assert "skipping 2 image(s) already converted" in err and "converted 0, skipped 2, failed 1" in err
    # an input right after --ray would be read as the address: refused with the fix
    assert main(["convert", "--model", str(model), "-o", str(out), "--ray", str(src), str(src / "good1.png")]) == 1
    assert "put --ray after the inputs" in capsys.readouterr().err


def _actor_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline"]):
        if "MapBatches(Translator)" in " ".join(process.info["cmdline"] or ()):
            found.append(process)
    return found


def test_an_actor_killed_mid_run_still_ends_with_every_output_written_once(local_ray, model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(32):
        write_image(src / f"img{i:02d}.jpg", photo(160, 192, i), quality=90)
    first_seen: dict[str, int] = {}   # output -> inode when first seen: an output written again gets a new one
    killed: list[tuple[int, int]] = []   # (pid, outputs written when it was killed)
    finished = threading.Event()

    def watch_and_kill() -> None:
        while not finished.is_set():
            for path in out.glob("img*.png") if out.is_dir() else ():
                first_seen.setdefault(path.name, path.stat().st_ino)
            if not killed and len(first_seen) >= 3:
                actors = _actor_processes()
                if actors:
                    os.kill(actors[0].pid, signal.SIGKILL)
                    killed.append((actors[0].pid, len(first_seen)))
            time.sleep(0.005)

    watcher = threading.Thread(target=watch_and_kill, daemon=True)
    watcher.start()
    try:
        summary = convert_on_ray([src], out, model, ConvertOptions(tile_size=32, workers=1),
                                 RayOptions(actors=2, threads=1, device="cpu", files_per_batch=4))
    finally:
        finished.set()
        watcher.join()
    assert killed, "no actor process was found to kill"
    (pid, written_then), = killed
    assert written_then < 32, "the run finished before an actor could be killed"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE

    names = sorted(p.name for p in out.iterdir())
    assert names == [f"img{i:02d}.png" for i in range(32)]               # each once, no temp files left
    assert not list(out.glob(f"{TEMP_PREFIX}*"))
    assert (summary.converted, summary.skipped, summary.failed) == (32, 0, 0)   # each file reported once
    for name, inode in first_seen.items():
        assert (out / name).stat().st_ino == inode, f"{name} was written twice"
    for name in names:
        assert read_image(out / name).rgb.shape == (160, 192, 3)        # complete files


def test_batches_grow_with_the_run_so_an_actor_drains_its_pipeline_a_few_times_only():
    assert files_per_batch(24, 1) == MIN_FILES_PER_BATCH == 8         # small runs: batches of 8
    assert files_per_batch(200, 1) == 50                               # 4 calls for one actor
    assert files_per_batch(200, 4) == 13
    assert files_per_batch(100_000, 8) == MAX_FILES_PER_BATCH          # the progress bar still moves
