"""Datasets: one random transform for both halves, samples fixed by (seed, epoch, index), bad files skipped."""
from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from translation.data.augment import AugmentConfig, apply, build_pipeline
from translation.data.datasets import EpochSampler, PairedDataset, PhotoPairDataset, UnpairedDataset
from translation.errors import TranslationError
from translation.tasks import get_task

CROP = AugmentConfig(preprocess="crop", load_size=24, crop_size=24)


def noise_image(path: Path, rng: np.random.Generator, width: int = 32, height: int = 32) -> np.ndarray:
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), pixels[:, :, ::-1])
    return pixels


@pytest.fixture
def aligned(tmp_path) -> list[tuple[Path, ...]]:
    rng = np.random.default_rng(0)
    files = []
    for i in range(4):
        a = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        path = tmp_path / f"{i}.png"
        assert cv2.imwrite(str(path), np.concatenate([a, 255 - a], axis=1)[:, :, ::-1])
        files.append((path,))
    return files


def test_both_halves_get_the_same_crop_and_flip(aligned):
    data = PairedDataset(aligned, CROP, seed=0)
    crops = set()
    for epoch in range(6):
        sample = data[(epoch, 1)]
        assert sample["A"].shape == sample["B"].shape == (3, 24, 24)
        assert sample["A"].dtype == torch.float32 and -1 <= sample["A"].min() and sample["A"].max() <= 1
        assert torch.allclose(sample["A"], -sample["B"], atol=1e-6)  # B = 255 - A survives the same transform
        crops.add(sample["A"].numpy().tobytes())
    assert len(crops) > 3  # the crop (and flip) change from epoch to epoch
    assert torch.equal(data[(2, 1)]["A"], PairedDataset(aligned, CROP, seed=0)[(2, 1)]["A"])  # fixed by the seed
    assert not torch.equal(data[(2, 1)]["A"], PairedDataset(aligned, CROP, seed=1)[(2, 1)]["A"])


def test_direction_and_validation_mode(aligned):
    forward = PairedDataset(aligned, CROP, seed=0, train=False)[0]
    backward = PairedDataset(aligned, CROP, direction="BtoA", seed=0, train=False)[0]
    assert torch.equal(forward["A"], backward["B"]) and torch.equal(forward["B"], backward["A"])
    # validation: a centre crop, no flip, the same every epoch
    assert torch.equal(PairedDataset(aligned, CROP, train=False)[(0, 2)]["A"],
                       PairedDataset(aligned, CROP, train=False)[(5, 2)]["A"])
    with pytest.raises(TranslationError, match="--direction"):
        PairedDataset(aligned, CROP, direction="sideways")


def test_folder_pairs_of_different_sizes(tmp_path):
    rng = np.random.default_rng(1)
    a = noise_image(tmp_path / "A" / "x.png", rng, 40, 30)
    noise_image(tmp_path / "B" / "x.png", rng, 80, 60)
    sample = PairedDataset([(tmp_path / "A" / "x.png", tmp_path / "B" / "x.png")],
                           AugmentConfig("none", 24, 24, size_multiple=16), train=False)[0]
    assert sample["A"].shape == sample["B"].shape == (3, 32, 48)  # padded up to multiples of 16
    assert torch.allclose(sample["A"][:, 1:31, 4:44], torch.from_numpy(a).permute(2, 0, 1) / 127.5 - 1)


def test_resize_modes():
    image = np.zeros((60, 30, 3), np.uint8)
    resize = build_pipeline(AugmentConfig("resize_and_crop", 40, 32), train=True)
    assert apply(resize, 0, image)[0].shape == (32, 32, 3)
    scale_width = build_pipeline(AugmentConfig("scale_width", 40, 32), train=False)
    assert apply(scale_width, 0, image)[0].shape == (32, 32, 3)
    with pytest.raises(TranslationError, match="--load-size 20 is smaller than --crop-size 32"):
        AugmentConfig("resize_and_crop", 20, 32)


def test_rotate_draws_all_eight_symmetries_for_both_halves():
    image = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    symmetries = [np.rot90(flipped, k) for flipped in (image, image[:, ::-1]) for k in range(4)]
    rotate = build_pipeline(AugmentConfig("crop", 16, 16, rotate=True), train=True)
    seen = set()
    for seed in range(60):
        a, b = apply(rotate, seed, image, image.copy())
        np.testing.assert_array_equal(a, b)  # one transform for the pair
        seen.add(next(i for i, s in enumerate(symmetries) if np.array_equal(a, s)))
    assert seen == set(range(8))
    flip_only = build_pipeline(AugmentConfig("crop", 16, 16), train=True)
    outcomes = {apply(flip_only, seed, image)[0].tobytes() for seed in range(30)}
    assert outcomes == {image.tobytes(), image[:, ::-1].tobytes()}  # without rotate: horizontal flips only
    held_out = build_pipeline(AugmentConfig("crop", 16, 16, rotate=True), train=False)
    np.testing.assert_array_equal(apply(held_out, 3, image)[0], image)


def test_colour_jitter_shifts_both_halves_alike_for_training_only():
    rng = np.random.default_rng(0)
    image = rng.integers(30, 220, (16, 16, 3), dtype=np.uint8)
    jitter = build_pipeline(AugmentConfig("crop", 16, 16, flip=False, colour_jitter=1.0), train=True)
    outcomes, means = set(), []
    for seed in range(40):
        a, b = apply(jitter, seed, image, image.copy())
        np.testing.assert_array_equal(a, b)                                  # one shift for the pair
        np.testing.assert_array_equal(apply(jitter, seed, image)[0], a)      # fixed by the seed
        outcomes.add(a.tobytes())
        means.append(a.reshape(-1, 3).mean(axis=0))
    assert image.tobytes() in outcomes and len(outcomes) > 25            # some left as they are, most shifted
    assert np.ptp(np.array(means), axis=0).min() > 10                      # every channel moves
    held_out = build_pipeline(AugmentConfig("crop", 16, 16, flip=False, colour_jitter=1.0), train=False)
    np.testing.assert_array_equal(apply(held_out, 3, image)[0], image)
    with pytest.raises(TranslationError, match="colour-jitter"):
        AugmentConfig("crop", 16, 16, colour_jitter=1.5)


def test_random_scale_sees_the_photo_at_many_scales():
    # a 200 x 100 image of horizontal stripes 2 px apart: the smaller the scale, the finer the stripes
    image = np.zeros((100, 200, 3), np.uint8)
    image[::4] = image[1::4] = 255
    pipeline = build_pipeline(AugmentConfig("random_scale", 96, 32, flip=False), train=True)
    crops = [apply(pipeline, seed, image)[0] for seed in range(40)]
    assert all(crop.shape == (32, 32, 3) for crop in crops)
    contrast = {round(float(crop.astype(np.float32).std()), 1) for crop in crops}
    assert len(contrast) > 3  # several scales were drawn
    centre = apply(build_pipeline(AugmentConfig("random_scale", 96, 32), train=False), 0, image)[0]
    assert centre.shape == (32, 32, 3)
    np.testing.assert_array_equal(centre, apply(build_pipeline(AugmentConfig("random_scale", 96, 32),
                                                                train=False), 5, image)[0])
    with pytest.raises(TranslationError, match="--load-size 20 is smaller than --crop-size 32"):
        AugmentConfig("random_scale", 20, 32)


def test_random_scale_without_enlarging_draws_only_sizes_up_to_the_pictures_own():
    # a ramp rising 1 a pixel across a 200 x 100 picture: a crop's slope is 1 / the scale it was drawn at
    image = np.repeat(np.broadcast_to(np.arange(200, dtype=np.uint8), (100, 200))[:, :, None], 3, axis=2)

    def scales(enlarge: bool) -> list[float]:
        pipeline = build_pipeline(AugmentConfig("random_scale", 160, 32, flip=False, enlarge=enlarge), train=True)
        return [1.0 / float(np.diff(apply(pipeline, seed, image)[0][:, :, 0].astype(np.float32), axis=1).mean())
                for seed in range(40)]

    assert max(scales(True)) > 1.2                # short sides of 104-160 drawn: enlarged
    without = scales(False)
    assert max(without) < 1.0 and min(without) < 0.5   # 32-96 only, still many scales
    tiny = np.full((20, 24, 3), 128, np.uint8)    # smaller than the crop: scaled up to it, as it must be
    no_enlarge = build_pipeline(AugmentConfig("random_scale", 160, 32, enlarge=False), train=True)
    assert apply(no_enlarge, 0, tiny)[0].shape == (32, 32, 3)


@pytest.mark.parametrize("task,channels", [("colorization", (1, 2)), ("sketch-to-photo", (1, 3)),
                                           ("super-resolution", (3, 3))])
def test_self_supervised_pairs_from_photos(tmp_path, task, channels):
    rng = np.random.default_rng(2)
    files = [tmp_path / f"{i}.jpg" for i in range(2)]
    for f in files:
        noise_image(f, rng, 48, 40)
    data = PhotoPairDataset(files, get_task(task), AugmentConfig("resize_and_crop", 40, 32), seed=0)
    sample = data[(0, 1)]
    assert sample["A"].shape == (channels[0], 32, 32) and sample["B"].shape == (channels[1], 32, 32)
    assert torch.equal(sample["A"], data[(0, 1)]["A"])  # the degradation is seeded too
    with pytest.raises(TranslationError, match="cannot make training pairs"):
        PhotoPairDataset(files, get_task("style-transfer"), CROP)


def test_photos_are_decoded_once_and_kept_read_only(tmp_path, monkeypatch):
    import translation.data.datasets as datasets

    rng = np.random.default_rng(3)
    files = [tmp_path / f"{i}.png" for i in range(2)]
    for f in files:
        noise_image(f, rng, 48, 40)
    data = PhotoPairDataset(files, get_task("colorization"), AugmentConfig("resize_and_crop", 40, 32), seed=0)
    first = data[(0, 0)]["A"]
    files[0].unlink()  # read again from memory, not from the file
    assert torch.equal(data[(0, 0)]["A"], first)
    kept = data.read(files[0])
    assert kept is data.read(files[0]) and not kept.flags.writeable

    monkeypatch.setattr(datasets, "DECODED_CACHE_BYTES", 0)  # over the budget: decoded every time
    small = PhotoPairDataset(files[1:], get_task("colorization"), AugmentConfig("resize_and_crop", 40, 32), seed=0)
    assert small.read(files[1]) is not small.read(files[1])


def test_unpaired_draws_b_at_random_per_epoch(tmp_path):
    rng = np.random.default_rng(3)
    a_files = [tmp_path / "A" / f"{i}.png" for i in range(5)]
    b_files = [tmp_path / "B" / f"{i}.png" for i in range(3)]
    b_pixels = [noise_image(f, rng) for f in b_files]
    for f in a_files:
        noise_image(f, rng)
    data = UnpairedDataset(a_files, b_files, AugmentConfig("crop", 32, 32, flip=False), seed=0)
    assert len(data) == 5

    def which_b(epoch: int, index: int) -> int:
        b = data[(epoch, index)]["B"]
        return next(i for i, p in enumerate(b_pixels) if torch.allclose(b, torch.from_numpy(p).permute(2, 0, 1) / 127.5 - 1))

    picks = [which_b(epoch, 0) for epoch in range(12)]
    assert len(set(picks)) == 3  # every B image turns up
    assert picks == [which_b(epoch, 0) for epoch in range(12)]  # and the same ones again: seeded


def test_unreadable_files_are_skipped_and_logged_once(tmp_path, caplog):
    rng = np.random.default_rng(4)
    good = [tmp_path / f"{i}.png" for i in range(3)]
    for f in good:
        noise_image(f, rng, 64, 32)
    broken = tmp_path / "1b.png"
    broken.write_bytes(good[0].read_bytes()[:100])
    data = PairedDataset([(good[0],), (broken,), (good[1],), (good[2],)], CROP, train=False)
    with caplog.at_level(logging.WARNING):
        replaced = data[1]
        again = data[1]
    assert torch.equal(replaced["A"], data[2]["A"]) and torch.equal(again["A"], replaced["A"])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and str(broken) in warnings[0].getMessage()
    assert "truncated or corrupt" in warnings[0].getMessage()

    nothing = PairedDataset([(broken,), (tmp_path / "gone.png",)], CROP)
    with pytest.raises(TranslationError, match="2 samples in a row could not be read"):
        nothing[0]


def test_epoch_sampler_shards_shuffles_and_resumes():
    shards = [list(EpochSampler(10, seed=5, rank=r, world_size=3)) for r in range(3)]
    assert all(len(s) == 4 for s in shards)  # padded to the same length on every rank
    indices = [i for shard in shards for _, i in shard]
    assert set(indices) == set(range(10)) and len(indices) == 12
    sampler = EpochSampler(10, seed=5)
    sampler.set_epoch(1)
    epoch1 = list(sampler)
    assert [e for e, _ in epoch1] == [1] * 10 and sorted(i for _, i in epoch1) == list(range(10))
    sampler.set_epoch(2)
    assert list(i for _, i in sampler) != [i for _, i in epoch1]
    sampler.set_epoch(1, start=4)
    assert list(sampler) == epoch1[4:] and len(sampler) == 6


def test_super_resolution_training_pairs_take_the_degradation_rate_and_validation_keeps_the_tasks(tmp_path):
    from translation.training.config import TrainConfig
    from translation.training.data import paired_data

    rng = np.random.default_rng(0)
    for index in range(6):
        noise_image(tmp_path / f"{index}.png", rng, 64, 64)
    config = TrainConfig(model="pix2pix", task="super-resolution", netG="shuffle4_2blocks", data=tmp_path,
                         crop_size=32, load_size=32, degradation=0.0, val_fraction=0.3, repeats=8)
    config.validate()
    data = paired_data(config, get_task("super-resolution"))
    assert data.val.pair_options == {}
    for index in range(len(data.train)):
        sample = data.train[index]
        photo = ((sample["B"].numpy().transpose(1, 2, 0) + 1) / 2 * 255).round().astype(np.uint8)
        clean = cv2.resize(photo, (8, 8), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
        bicubic = np.clip(cv2.resize(clean, (32, 32), interpolation=cv2.INTER_CUBIC), 0, 1) * 2 - 1
        np.testing.assert_allclose(sample["A"].numpy(), bicubic.transpose(2, 0, 1), atol=1e-5)  # not degraded
