"""`translation convert` over a folder of awkward and broken files: each converts or is named with its reason."""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest

from corpus import (BOMB_SIDE, TRANSLATION, REPO_ROOT, Item, bomb_png, checksums, no_traceback, photo,  # noqa: F401
                    tiny_models, write_corpus)
from translation.imaging.io import read_image, write_image

pytestmark = pytest.mark.slow


def convert(*args: str | Path, verbose: bool = False, timeout: float = 90) -> subprocess.CompletedProcess:
    """The CLI in a subprocess, so a hang (a symlink loop) fails the test instead of freezing it."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [*TRANSLATION, *(["--verbose"] if verbose else []), "convert", *map(str, args)]
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, timeout=timeout)


def failure_lines(stderr: bytes) -> list[str]:
    text = stderr.decode("utf-8", "backslashreplace")
    return [line.strip() for line in re.split(r"[\r\n]", text) if line.strip().startswith("failed: ")]


def named_in(lines: list[str], item: Item) -> list[str]:
    """The failure lines naming ``item``: a non-UTF-8 name is printed with its bytes escaped."""
    printed = item.name.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    shown = item.name.encode("utf-8", "backslashreplace").decode()   # str(path) of a surrogate-escaped name
    return [line for line in lines if f"/{printed}: " in line or f"/{shown}: " in line]


def output_of(out: Path, item: Item) -> Path:
    return out / f"{Path(item.name).stem}.png"


def test_every_item_converts_or_is_named_with_its_reason(tiny_models, tmp_path):  # noqa: F811
    source, out = tmp_path / "corpus", tmp_path / "out"
    items = write_corpus(source)
    before = checksums(source)

    # --verbose: even the debug log explains a user's bad file by its reason, without a traceback
    result = convert("--model", tiny_models / "colorization.onnx", source, "-o", out, "--recursive", verbose=True)
    assert result.returncode == 1, result.stderr.decode(errors="replace")   # some files failed
    no_traceback(result.stdout.decode(errors="replace"), result.stderr.decode(errors="replace"))
    failures = failure_lines(result.stderr)

    for item in items:
        output = output_of(out, item)
        lines = named_in(failures, item)
        if item.good:
            assert not lines, f"{item.name!r} should convert: {lines}"
            assert output.is_file(), f"{item.name!r}: no output"
            loaded = read_image(output)
            assert (loaded.width, loaded.height) == item.size, item.name
            assert (loaded.alpha is not None) == item.alpha, item.name
            raw = cv2.imdecode(np.frombuffer(output.read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
            assert raw.dtype == (np.uint16 if item.sixteen_bit else np.uint8), item.name
        else:
            assert len(lines) == 1, f"{item.name!r} should be named once with its reason: {failures}"
            assert item.reason in lines[0].lower(), lines[0]
            assert not output.exists(), item.name
    assert len(failures) == sum(not item.good for item in items)     # nothing else failed
    # the symlink loop was walked once, the non-image file passed over, nothing else was written
    written = sorted(os.listdir(os.fsencode(out)))
    assert written == sorted(os.fsencode(output_of(out, item).name) for item in items if item.good)
    assert f"converted {sum(i.good for i in items)}, skipped 0, failed {len(failures)}" in result.stderr.decode()
    assert checksums(source) == before                                 # no input changed


def test_pixel_limits_default_and_lowered(tiny_models, tmp_path):  # noqa: F811
    """The bomb against the real default limit, then an ordinary image against a lowered --max-pixels."""
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(bomb_png())
    assert bomb.stat().st_size < 200_000                              # 900 Mpx claimed by ~110 KB
    medium = write_image(tmp_path / "medium.png", photo(120, 100))     # 12 000 px
    small = write_image(tmp_path / "small.png", photo(40, 30))          # 1 200 px
    model = tiny_models / "colorization.onnx"

    default = convert("--model", model, bomb, medium, "-o", tmp_path / "default")
    assert default.returncode == 1
    (line,) = failure_lines(default.stderr)
    assert "bomb.png" in line and f"{BOMB_SIDE * BOMB_SIDE / 1e6:.3g} Mpx exceeds the 64 Mpx limit" in line
    assert "raise --max-pixels" in line
    assert (tmp_path / "default" / "medium.png").is_file()

    lowered = convert("--model", model, medium, small, "-o", tmp_path / "lowered", "--max-pixels", "5000")
    assert lowered.returncode == 1
    (line,) = failure_lines(lowered.stderr)
    assert "medium.png" in line and "exceeds the 0.005 Mpx limit" in line
    assert [p.name for p in (tmp_path / "lowered").iterdir()] == ["small.png"]
    no_traceback(default.stderr.decode(), lowered.stderr.decode())
