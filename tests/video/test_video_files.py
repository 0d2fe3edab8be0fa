"""Videos through ONNX Runtime with tiny exported models: what the output keeps, bad files, the CLI.

The clips are made here: a camera panning and zooming over a photo, a scene cut, an AAC track,
rotation metadata and variable frame rates, 64-128 pixels and at most 30 frames.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from translation.atomic import TEMP_PREFIX
from translation.cli import main
from translation.errors import TranslationError
from translation.examples import EXAMPLES_DIR
from translation.export import export_generator
from translation.imaging.io import read_image
from translation.networks import GeneratorConfig, build_generator
from translation.runtime import Engine
from translation.video import VideoLimits, VideoOptions, VideoReader, probe, translate_frames, translate_video
from translation.video.synthetic import camera_pan, write_clip


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("video-models")
    paths = {}
    for name, task in (("style", "style-transfer"), ("sr", "super-resolution")):
        config = GeneratorConfig.named("resnet_1blocks", ngf=4)
        paths[name] = export_generator(build_generator(config), folder / f"{name}.onnx", task=task, config=config)
    return paths


@pytest.fixture(scope="module")
def engine(models) -> Engine:
    return Engine(models["style"], threads=1)


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return read_image(EXAMPLES_DIR / "style-transfer" / "kay.jpg").rgb


@pytest.fixture(scope="module")
def clips(photo, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("clips")
    pan = camera_pan(photo, width=96, height=64, frames=24, pan=(1.0, 0.3), zoom=0.01, noise=1.0).frames
    other = camera_pan(np.ascontiguousarray(photo[::-1, ::-1]), width=96, height=64, frames=6, noise=1.0).frames
    portrait = [np.ascontiguousarray(np.rot90(f, -1)) for f in pan[:12]]   # stored turned, shown upright
    vfr = [0, 40, 80, 200, 240, 280, 400, 440, 520, 560, 600, 760]
    return {
        "pan": write_clip(folder / "pan.mp4", pan, fps=25, audio_seconds=24 / 25),
        "cut": write_clip(folder / "cut.mkv", pan[:10] + other, fps=30),
        "portrait": write_clip(folder / "portrait.mov", portrait, timestamps_ms=vfr, rotation=90),
        "faststart": write_clip(folder / "faststart.mp4", pan, fps=25, faststart=True),
    }


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        return [float(f.time) for f in container.decode(video=0)]


def test_frames_rate_duration_and_audio_are_kept(clips, engine, tmp_path):
    done = []
    summary = translate_video(clips["pan"], tmp_path / "out.mp4", engine, progress=lambda n, total: done.append((n, total)))
    source, output = probe(clips["pan"]), probe(tmp_path / "out.mp4")
    assert (output.width, output.height, output.frames) == (96, 64, 24) == (source.width, source.height, source.frames)
    assert output.average_rate == source.average_rate == Fraction(25)
    assert output.seconds == pytest.approx(source.seconds, abs=0.01)
    assert frame_times(tmp_path / "out.mp4") == pytest.approx(frame_times(clips["pan"]), abs=1e-3)
    assert output.codec == "h264" and summary.encoder == "libx264"
    assert audio_packets(tmp_path / "out.mp4") == audio_packets(clips["pan"])   # copied byte for byte
    assert summary.audio == "aac audio copied" and summary.frames == 24 and summary.shots == 1
    assert done[-1] == (24, 24) and len(done) == 24
    with VideoReader(tmp_path / "out.mp4") as reader:
        frames = [f.rgb for f in reader.frames()]
    assert len(frames) == 24 and frames[0].shape == (64, 96, 3)


def test_rotation_and_variable_timestamps_are_kept_at_the_models_scale(clips, models, tmp_path):
    out = tmp_path / "portrait-big.mov"
    summary = translate_video(clips["portrait"], out, models["sr"])
    source, output = probe(clips["portrait"]), probe(out)
    assert source.rotation == output.rotation == 90
    assert (output.width, output.height) == (4 * source.width, 4 * source.height) == (384, 256)
    assert (summary.width, summary.height) == (384, 256)
    assert frame_times(out) == pytest.approx([t / 1000 for t in (0, 40, 80, 200, 240, 280, 400, 440, 520, 560, 600, 760)],
                                             abs=1e-3)
    with av.open(str(out)) as container:          # stored turned, as the source was: 256 wide, 384 high
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (256, 384)


def test_rotated_frames_are_read_upright(clips, photo):
    pan = camera_pan(photo, width=96, height=64, frames=24, pan=(1.0, 0.3), zoom=0.01, noise=1.0).frames
    with VideoReader(clips["portrait"]) as reader:
        frames = [f.rgb for f in reader.frames()]
    assert frames[0].shape == (64, 96, 3)
    assert np.abs(frames[3].astype(float) - pan[3]).mean() < 4.0   # the upright picture (up to compression)


def test_scene_cut_counts_as_a_new_shot_and_containers_change_on_request(clips, engine, tmp_path):
    summary = translate_video(clips["cut"], tmp_path / "cut.webm", engine)
    assert summary.shots == 2 and summary.frames == 16
    output = probe(tmp_path / "cut.webm")
    assert output.codec == "vp9" and summary.encoder == "libvpx-vp9"
    assert len(frame_times(tmp_path / "cut.webm")) == 16


def test_audio_a_container_cannot_hold_is_re_encoded_to_the_same_length(clips, engine, tmp_path):
    summary = translate_video(clips["pan"], tmp_path / "pan.webm", engine, options=VideoOptions(stabilize=False))
    assert summary.audio == "opus audio re-encoded"          # WebM takes no AAC
    lengths = []
    for path in (clips["pan"], tmp_path / "pan.webm"):
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            lengths.append(sum(frame.samples for frame in container.decode(stream)) / stream.rate)
    assert lengths[1] == pytest.approx(lengths[0], abs=0.03)


def test_stabilised_frames_match_the_file_and_frame_by_frame_differs(photo, engine):
    frames = camera_pan(photo, width=64, height=48, frames=6, noise=2.0).frames
    plain = list(translate_frames(frames, engine, options=VideoOptions(stabilize=False)))
    steady = list(translate_frames(frames, engine))
    np.testing.assert_array_equal(plain[0], steady[0])
    assert all(p.shape == (48, 64, 3) for p in plain)
    assert any(np.abs(p.astype(int) - s).mean() > 0.1 for p, s in zip(plain[1:], steady[1:]))


def test_batches_of_frames_on_the_engine_equal_one_at_a_time(photo, engine):
    frames = camera_pan(photo, width=64, height=48, frames=5, noise=2.0).frames
    one = list(translate_frames(frames, engine, options=VideoOptions(stabilize=False), batch_size=1))
    three = list(translate_frames(frames, engine, options=VideoOptions(stabilize=False), batch_size=3))
    for a, b in zip(one, three):
        assert np.abs(a.astype(int) - b).max() <= 1


@pytest.fixture(scope="module")
def bad(clips, tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bad-clips")
    good = clips["faststart"].read_bytes()
    broken = bytearray(clips["pan"].read_bytes())
    broken[:64] = b"\0" * 64
    files = {"header": (folder / "bad-header.mp4", bytes(broken)),
             "truncated": (folder / "truncated.mp4", good[: int(len(good) * 0.6)]),
             "text": (folder / "notes.mkv", b"not a video, only text with a video name\n"),
             "empty": (folder / "empty.avi", b"")}
    for path, data in files.values():
        path.write_bytes(data)
    audio_only = folder / "audio-only.mp4"
    with av.open(str(audio_only), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        tone = av.AudioFrame.from_ndarray(np.zeros((1, 4000), np.float32), format="fltp", layout="mono")
        tone.sample_rate, tone.pts = 16000, 0
        container.mux(stream.encode(tone))
        container.mux(stream.encode(None))
    return {**{key: path for key, (path, _) in files.items()}, "audio": audio_only}


@pytest.mark.parametrize("case, reason", [
    ("header", "not a readable video"), ("text", "not a readable video"), ("empty", "empty file"),
    ("truncated", "truncated: "), ("audio", "no video stream"),
])
def test_bad_files_are_named_with_the_reason_and_leave_no_output(bad, engine, tmp_path, case, reason):
    out = tmp_path / "out.mp4"
    with pytest.raises(TranslationError) as caught:
        translate_video(bad[case], out, engine)
    message = str(caught.value)
    assert message.startswith(f"{bad[case]}: ") and reason in message and "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_limits_refuse_absurd_sizes_and_lengths(clips, engine, tmp_path):
    with pytest.raises(TranslationError, match=r"pan\.mp4: 96x64 frames are larger than the limit of 5,000 pixels"):
        translate_video(clips["pan"], tmp_path / "a.mp4", engine,
                        options=VideoOptions(limits=VideoLimits(max_frame_pixels=5000)))
    with pytest.raises(TranslationError, match=r"pan\.mp4: 1 s long, more than the limit of 0 s"):
        translate_video(clips["pan"], tmp_path / "b.mp4", engine, options=VideoOptions(limits=VideoLimits(max_seconds=0.5)))
    assert list(tmp_path.iterdir()) == []


def test_convert_mixes_videos_and_images_skips_bad_ones_and_resumes(clips, bad, models, photo, tmp_path, capsys):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    for key in ("pan", "portrait"):
        (src / clips[key].name).write_bytes(clips[key].read_bytes())
    (src / "sub" / "bad-header.mp4").write_bytes(bad["header"].read_bytes())
    from translation.imaging.io import write_image
    write_image(src / "still.png", photo[:48, :64])
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file()}

    code = main(["convert", "--model", str(models["style"]), str(src), "-o", str(tmp_path / "out"), "-r",
                 "--threads", "1", "--video-format", "mkv"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"failed: {src / 'sub' / 'bad-header.mp4'}: not a readable video" in err
    outputs = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert outputs == ["pan.mkv", "portrait.mkv", "still.png"]
    assert probe(tmp_path / "out" / "pan.mkv").audio_codec == "aac"
    assert {p: p.read_bytes() for p in src.rglob("*") if p.is_file()} == before    # inputs untouched

    stamp = (tmp_path / "out" / "pan.mkv").stat().st_mtime_ns
    code = main(["convert", "--model", str(models["style"]), str(src), "-o", str(tmp_path / "out"), "-r",
                 "--threads", "1", "--video-format", "mkv", "--no-stabilize"])
    assert code == 1 and "skipping 3" in capsys.readouterr().err
    assert (tmp_path / "out" / "pan.mkv").stat().st_mtime_ns == stamp


def test_a_killed_run_leaves_no_half_written_video_and_the_rerun_finishes(photo, models, tmp_path):
    long = write_clip(tmp_path / "long.mp4", camera_pan(photo, width=128, height=96, frames=30, noise=1.0).frames * 10)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "translation", "convert", "--model", str(models["style"]), str(long),
               "-o", str(out), "--threads", "1"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not any(p.name.startswith(TEMP_PREFIX) and p.stat().st_size > 0 for p in out.glob("*")):
            assert process.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no temp file appeared"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
    finally:
        if process.poll() is None:
            process.kill()
    assert not (out / "long.mp4").exists()
    assert main(["convert", "--model", str(models["style"]), str(long), "-o", str(out), "--threads", "1",
                 "--no-stabilize"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["long.mp4"]            # the temp file cleaned up
    assert probe(out / "long.mp4").frames == 300
