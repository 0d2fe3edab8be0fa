"""Batch conversion: odd inputs, bad files, resume after SIGKILL, never over an input."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from convert_fixtures import digest, export_tiny_style_model, photo, write_two_good_and_a_truncated

from translation.atomic import TEMP_PREFIX
from translation.cli import main
from translation.convert import ConvertOptions, convert
from translation.imaging.io import read_image, write_image
from translation.runtime import Engine


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return export_tiny_style_model(tmp_path_factory.mktemp("convert-models"))


def run_cli(*args) -> int:
    return main(["convert", *map(str, args)])


def test_odd_inputs_convert_with_orientation_alpha_depth_and_colour_handled(model, tmp_path, capsys):
    src = tmp_path / "in"
    src.mkdir()
    exif = Image.Exif()
    exif[0x0112] = 6                                          # stored 60 wide x 40 high, shown rotated
    Image.fromarray(photo(40, 60)).save(src / "rotated.jpg", exif=exif.tobytes())
    rgba = np.dstack([photo(30, 50), np.tile(np.linspace(0, 255, 50, dtype=np.uint8), (30, 1))])
    Image.fromarray(rgba, "RGBA").save(src / "alpha.png")
    Image.fromarray(photo(32, 36)[:, :, 0], "L").save(src / "gray.png")
    cv2.imwrite(str(src / "deep.png"), (photo(24, 28).astype(np.uint16) * 257 + 3)[:, :, ::-1])
    Image.fromarray(photo(20, 24)).convert("CMYK").save(src / "cmyk.jpg")
    before = digest(src)

    assert run_cli("--model", model, src, "-o", tmp_path / "out") == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["alpha.png", "cmyk.png", "deep.png", "gray.png", "rotated.png"]
    assert read_image(out / "rotated.png").rgb.shape == (60, 40, 3)
    alpha = read_image(out / "alpha.png")
    np.testing.assert_array_equal(alpha.alpha, rgba[:, :, 3])
    assert read_image(out / "gray.png").rgb.shape == (32, 36, 3)
    deep = cv2.imread(str(out / "deep.png"), cv2.IMREAD_UNCHANGED)
    assert deep.dtype == np.uint16 and deep.shape == (24, 28, 3)
    assert read_image(out / "cmyk.png").rgb.shape == (20, 24, 3)
    assert digest(src) == before                              # inputs untouched
    assert "converted 5, skipped 0, failed 0" in capsys.readouterr().err


def test_bad_files_are_reported_on_one_line_and_the_batch_goes_on(model, tmp_path, capsys):
    src = tmp_path / "in"
    write_two_good_and_a_truncated(src)
    (src / "notes.png").write_text("this is not a picture")
    (src / "empty.webp").write_bytes(b"")

    assert run_cli("--model", model, src, tmp_path / "missing-folder", "-o", tmp_path / "out") == 1
    err = capsys.readouterr().err
    assert (tmp_path / "out" / "good1.png").is_file() and (tmp_path / "out" / "good2.png").is_file()
    assert not (tmp_path / "out" / "truncated.png").exists() and not (tmp_path / "out" / "notes.png").exists()
    failures = [line for line in err.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 4
    for name in ("truncated.jpg", "notes.png", "empty.webp", "missing-folder"):
        assert sum(name in line for line in failures) == 1
    assert "Traceback" not in err and "converted 2, skipped 0, failed 4" in err


def test_refuses_to_write_over_inputs(model, tmp_path, capsys):
    src = tmp_path / "in"
    write_image(src / "a.png", photo(16, 16))
    write_image(src / "b.png", photo(16, 16, 1))
    before = digest(src)
    assert run_cli("--model", model, src, "-o", src) == 1
    assert "would overwrite the input" in capsys.readouterr().err
    assert run_cli("--model", model, src / "a.png", "-o", src) == 1
    assert digest(src) == before
    # the same file named twice is converted once, not refused as a collision
    assert run_cli("--model", model, src, src / "a.png", "-o", tmp_path / "twice") == 0
    assert sorted(p.name for p in (tmp_path / "twice").iterdir()) == ["a.png", "b.png"]
    # a different name or format into the same folder is fine
    assert run_cli("--model", model, src, "-o", src, "--name", "{stem}_{model}") == 0
    assert (src / "a_tiny.png").is_file() and digest(src)["a.png"] == before["a.png"]


def test_two_inputs_for_one_output_are_refused(model, tmp_path, capsys):
    src = tmp_path / "in"
    write_image(src / "a.png", photo(16, 16))
    write_image(src / "a.jpg", photo(16, 16))
    assert run_cli("--model", model, src, "-o", tmp_path / "out") == 1
    assert "{ext}" in capsys.readouterr().err and not (tmp_path / "out").exists()
    assert run_cli("--model", model, src, "-o", tmp_path / "out", "--name", "{stem}_{ext}") == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_jpg.png", "a_png.png"]


@pytest.mark.timeout(120)
def test_recursive_filters_templates_and_symlink_loops(model, tmp_path, capsys):
    src = tmp_path / "in"
    write_image(src / "a.png", photo(16, 16))
    write_image(src / "sub" / "b.png", photo(16, 20))
    write_image(src / "sub" / "skip_c.png", photo(16, 16))
    write_image(src / "deeper" / "x" / "d.jpg", photo(20, 16))
    (src / "sub" / "readme.txt").write_text("ignored: not an image suffix")
    (src / "sub" / "loop").symlink_to(src, target_is_directory=True)
    out = tmp_path / "out"
    assert run_cli("--model", model, src, "-o", out, "-r", "--exclude", "skip_*", "--name", "{stem}_{model}",
                   "--format", "jpg", "--quality", "80") == 0
    assert f"ignoring 1 file(s) without an image or video suffix ({src / 'sub' / 'readme.txt'})" in capsys.readouterr().err
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()) == [
        "a_tiny.jpg", "deeper/x/d_tiny.jpg", "sub/b_tiny.jpg"]
    assert read_image(out / "deeper" / "x" / "d_tiny.jpg").rgb.shape == (20, 16, 3)
    flat = tmp_path / "flat"
    assert run_cli("--model", model, src, "-o", flat, "--include", "*.png", "--format", "webp") == 0
    assert [p.name for p in flat.iterdir()] == ["a.webp"]


def test_library_convert_resumes_and_overwrites(model, tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        write_image(src / f"{i}.png", photo(16, 16, i))
    engine = Engine(model)
    first = convert([src], tmp_path / "out", engine)
    assert (first.converted, first.skipped, first.failed) == (3, 0, 0)
    again = convert([src], tmp_path / "out", engine)
    assert (again.converted, again.skipped) == (0, 3)
    redo = convert([src], tmp_path / "out", engine, ConvertOptions(overwrite=True))
    assert (redo.converted, redo.skipped) == (3, 0) and redo.images_per_second > 0
    # a pixel budget smaller than one image still converts everything, one image at a time
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    tight = convert([src], tmp_path / "tight", engine, ConvertOptions(pixel_budget=1, workers=1))
    assert (tight.converted, tight.failed) == (3, 1) and len(list((tmp_path / "tight").iterdir())) == 3


def test_lanes_write_the_files_of_one_pipeline_and_keep_to_the_pixel_budget(model, tmp_path):
    src = tmp_path / "in"
    for i in range(7):
        write_image(src / f"{i}.jpg", photo(40 + 8 * i, 48, i), quality=90)
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    engine = Engine(model, providers="cpu", threads=1, spinning=False)
    one = convert([src], tmp_path / "one", engine, ConvertOptions(lanes=1))
    three = convert([src], tmp_path / "three", engine, ConvertOptions(lanes=3))
    assert (three.converted, three.failed) == (one.converted, one.failed) == (7, 1)
    assert [path.name for path, _ in three.failures] == ["broken.png"]
    assert digest(tmp_path / "three") == digest(tmp_path / "one") and len(digest(tmp_path / "one")) == 7
    again = convert([src], tmp_path / "three", engine, ConvertOptions(lanes=3))
    assert (again.converted, again.skipped, again.failed) == (0, 7, 1)

    running, most = 0, 0
    real_run = engine.run

    def counted(batch):
        nonlocal running, most
        running += 1
        most = max(most, running)
        try:
            time.sleep(0.01)   # long enough for another lane to start one if it were allowed
            return real_run(batch)
        finally:
            running -= 1

    engine.run = counted
    tight = convert([src], tmp_path / "tight", engine, ConvertOptions(lanes=3, pixel_budget=1))
    assert (tight.converted, tight.failed) == (7, 1) and most == 1   # one image (of one tile) at a time
    most = 0
    convert([src], tmp_path / "wide", engine, ConvertOptions(lanes=3))
    assert most >= 2                                                  # otherwise lanes run side by side
    # an image that runs alone has its tiles run side by side, with the pixels of one lane's tiles
    most = 0
    convert([src], tmp_path / "tiles-alone", engine, ConvertOptions(lanes=3, pixel_budget=1, tile_size=32))
    assert most >= 2
    convert([src], tmp_path / "tiles-one-lane", engine, ConvertOptions(lanes=1, tile_size=32))
    assert digest(tmp_path / "tiles-alone") == digest(tmp_path / "tiles-one-lane")


@pytest.mark.timeout(60)
def test_an_interrupted_lane_run_stops_without_waiting_and_leaves_only_whole_files(model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    for i in range(8):
        write_image(src / f"{i}.png", photo(24, 32, i))
    seen = []

    def interrupt_after_two(job, status, reason):
        seen.append(job)
        if len(seen) == 2:
            raise KeyboardInterrupt   # as Ctrl-C would, while the other lane waits for the pixel budget

    engine = Engine(model, providers="cpu", threads=1)
    with pytest.raises(KeyboardInterrupt):
        convert([src], out, engine, ConvertOptions(lanes=2, pixel_budget=1), on_result=interrupt_after_two)
    written = sorted(p.name for p in out.iterdir())
    assert 2 <= len(written) < 8 and not any(name.startswith(TEMP_PREFIX) for name in written)
    assert all(read_image(out / name).rgb.shape == (24, 32, 3) for name in written)
    rest = convert([src], out, engine, ConvertOptions(lanes=2))
    assert (rest.converted, rest.skipped) == (8 - len(written), len(written))


def test_the_command_runs_two_lanes_on_the_cpu_and_says_so(model, tmp_path, capsys):
    src = tmp_path / "in"
    for i in range(3):
        write_image(src / f"{i}.png", photo(24, 24, i))
    assert run_cli("--model", model, src, "-o", tmp_path / "out", "--device", "cpu", "--threads", "2") == 0
    assert "on CPU, 2 lanes x 1 thread(s): 3 image(s)" in capsys.readouterr().err
    assert run_cli("--model", model, src, "-o", tmp_path / "one", "--device", "cpu", "--lanes", "1") == 0
    assert "lanes" not in capsys.readouterr().err
    assert digest(tmp_path / "one") == digest(tmp_path / "out") and len(digest(tmp_path / "out")) == 3
    assert run_cli("--model", model, src, "-o", tmp_path / "none", "--lanes", "0") == 1
    assert "--lanes 0: give 1 or more lanes" in capsys.readouterr().err


def test_a_cpu_conversion_holds_opencv_to_one_thread_and_puts_it_back(model, tmp_path, monkeypatch):
    src = tmp_path / "in"
    for i in range(3):
        write_image(src / f"{i}.png", photo(16, 16, i))
    before = cv2.getNumThreads()
    monkeypatch.setattr("translation.convert.write_image", lambda *a, **k: seen.append(cv2.getNumThreads())
                        or write_image(*a, **k))
    seen: list[int] = []
    cv2.setNumThreads(2)
    try:
        summary = convert([src], tmp_path / "out", Engine(model, providers="cpu", spinning=False))
        after = cv2.getNumThreads()
    finally:
        cv2.setNumThreads(before)
    # the encode workers ran with OpenCV in their own thread; the pool is back as it was
    assert summary.converted == 3 and seen == [1, 1, 1] and after == 2


@pytest.mark.timeout(300)
def test_a_killed_conversion_finishes_on_the_next_run(model, tmp_path):
    src, out = tmp_path / "in", tmp_path / "out"
    expected = set()
    for i in range(40):
        write_image(src / f"img{i:02d}.jpg", photo(192, 256, i), quality=90)
        expected.add(f"img{i:02d}.png")
    command = [str(Path(sys.executable).parent / "translation"), "convert", "--model", str(model), str(src),
               "-o", str(out), "--tile-size", "64", "--batch-size", "1", "--threads", "1", "--workers", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.is_dir() and len(list(out.glob("img*.png"))) >= 5:
            break
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    done_at_kill = {p.name for p in out.glob("img*.png")}
    assert 5 <= len(done_at_kill) < 40, "the run finished before it could be interrupted"
    stamps = {name: (out / name).stat().st_mtime_ns for name in done_at_kill}
    (out / f"{TEMP_PREFIX}left-by-a-crash.png").write_bytes(b"\x89PNG half")

    result = subprocess.run(command, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr
    assert f"skipping {len(done_at_kill)} image(s) already converted" in result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(expected)                                   # each exactly once, no temp files
    for name in names:
        assert read_image(out / name).rgb.shape == (192, 256, 3)       # decodes, not truncated
    assert all((out / name).stat().st_mtime_ns == stamp for name, stamp in stamps.items())


def test_pixel_limit_is_a_clear_per_file_error(model, tmp_path, capsys):
    write_image(tmp_path / "in" / "small.png", photo(8, 8))
    write_image(tmp_path / "in" / "large.png", photo(40, 40))
    assert run_cli("--model", model, tmp_path / "in", "-o", tmp_path / "out", "--max-pixels", "1000") == 1
    failures = [line for line in capsys.readouterr().err.splitlines() if line.startswith("failed: ")]
    assert len(failures) == 1 and "large.png" in failures[0] and "limit" in failures[0]
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["small.png"]


def test_the_colour_strength_of_a_colorization_model_is_set_per_run(model, tmp_path, capsys):
    from translation.imaging.colour import rgb_to_lab

    gray = cv2.cvtColor(cv2.cvtColor(photo(48, 64), cv2.COLOR_RGB2GRAY), cv2.COLOR_GRAY2RGB)
    write_image(tmp_path / "in" / "old.png", gray)
    chroma = {}
    for gain in ("0.5", "1.5"):
        assert run_cli("--model", "colorization", tmp_path / "in", "-o", tmp_path / gain, "--chroma-gain", gain) == 0
        lab = rgb_to_lab(read_image(tmp_path / gain / "old.png").to_float())
        chroma[gain] = (float(np.hypot(lab[..., 1], lab[..., 2]).mean()), lab[..., 0])
    assert chroma["1.5"][0] > 2.5 * chroma["0.5"][0] > 0  # three times the colour, up to gamut and rounding
    assert np.abs(chroma["1.5"][1] - chroma["0.5"][1]).mean() < 1.0  # the same lightness
    # a model that predicts no colour refuses the option on one line, before anything is written
    capsys.readouterr()
    assert run_cli("--model", model, tmp_path / "in", "-o", tmp_path / "style", "--chroma-gain", "1.5") == 1
    err = capsys.readouterr().err
    assert "--chroma-gain" in err and "does not predict colour" in err and err.count("\n") == 1
    assert not (tmp_path / "style").exists()
