"""prepare / finish / decode, generic over the spaces, and training pairs from the registry."""
from __future__ import annotations

import numpy as np
import pytest
from task_photos import shapes_photo, smooth_photo

from translation.errors import TranslationError
from translation.imaging.colour import lab_to_rgb, rgb_to_lab
from translation.tasks import TaskSpec, decode, extract_sketch, finish, get_task, prepare, training_pair


@pytest.mark.parametrize("name", ["style-transfer", "custom"])
def test_identity_network_is_identity_for_rgb_tasks(name):
    photo = smooth_photo()
    network_input, context = prepare(get_task(name), photo)
    assert network_input.shape == (3, 48, 64) and network_input.dtype == np.float32
    assert network_input.min() >= -1.0 and network_input.max() <= 1.0
    np.testing.assert_allclose(finish(get_task(name), network_input, context), photo, atol=1e-6)


def test_keep_detail_adds_the_networks_change_at_the_working_size_to_the_full_size_input():
    rng = np.random.default_rng(0)
    noisy = np.clip(smooth_photo() + rng.normal(0.0, 0.05, (48, 64, 3)), 0.0, 1.0)  # fine detail
    photo = (noisy * 0.8).astype(np.float32)   # room to brighten
    plain = get_task("style-transfer").replace(working_size=32)
    kept = plain.replace(keep_detail=True)
    small, context = prepare(kept, photo)
    assert small.shape == (3, 24, 32)
    # a network that changes nothing gives the photo back, its noise and all; a resize loses the noise
    np.testing.assert_allclose(finish(kept, small, context), photo, atol=1e-5)
    _, plain_context = prepare(plain, photo)
    assert np.abs(finish(plain, small, plain_context) - photo).mean() > 0.02
    # a network that brightens by 0.1 brightens the full-size photo by 0.1
    np.testing.assert_allclose(finish(kept, small + 0.2, context), photo + 0.1, atol=1e-5)
    # a picture already within the working size runs as it is
    tiny = photo[:20, :30]
    network_input, tiny_context = prepare(kept, tiny)
    assert network_input.shape == (3, 20, 30) and "detail" not in tiny_context
    with pytest.raises(ValueError, match="does not match its input"):
        finish(kept, small[:, :12, :16], context)


def test_one_channel_rgb_output_is_replicated():
    spec = TaskSpec.from_metadata({"in_channels": "3", "out_channels": "1", "output_space": "rgb"})
    network_input, context = prepare(spec, smooth_photo())
    result = finish(spec, network_input[:1], context)
    assert result.shape == (48, 64, 3)
    np.testing.assert_array_equal(result[..., 0], result[..., 2])


def test_decode_shows_input_spaces_and_merges_lab_with_its_lightness():
    photo = smooth_photo()
    lab = rgb_to_lab(photo)
    lightness = (lab[:, :, 0] / 50.0 - 1.0)[None]
    shown = decode("lab_l", lightness, {})  # an input space, read as its lightness in gray
    np.testing.assert_allclose(shown[..., 1], lab[:, :, 0] / 100.0, atol=1e-5)
    ab = lab[:, :, 1:].transpose(2, 0, 1) / 110.0
    np.testing.assert_allclose(decode("lab_ab", ab, {"lab_l": lab[:, :, 0]}), photo, atol=0.01)
    with pytest.raises(ValueError, match="lab_l"):
        decode("lab_ab", ab, {})


def test_sketch_from_photo_only_for_tasks_that_take_drawings():
    photo, _ = shapes_photo()
    custom, _ = prepare(get_task("custom"), photo, sketch_from_photo=True)  # a user's own sketch model, maybe
    np.testing.assert_allclose(custom, np.repeat(extract_sketch(photo)[None] * 2 - 1, 3, axis=0), atol=1e-5)
    with pytest.raises(TranslationError, match="sketch-to-photo, custom"):
        prepare(get_task("style-transfer"), photo, sketch_from_photo=True)


@pytest.mark.parametrize("name,in_channels,out_channels",
                         [("colorization", 1, 2), ("super-resolution", 3, 3), ("sketch-to-photo", 1, 3)])
def test_training_pair_shapes_ranges_and_determinism(name, in_channels, out_channels):
    spec = get_task(name)
    photo = smooth_photo(32, 32)
    source, target = training_pair(spec, photo, np.random.default_rng(7))
    assert source.shape == (in_channels, 32, 32) and target.shape == (out_channels, 32, 32)
    for array in (source, target):
        assert array.dtype == np.float32 and array.min() >= -1.0 and array.max() <= 1.0
    again = training_pair(spec, photo, np.random.default_rng(7))
    np.testing.assert_array_equal(source, again[0])
    np.testing.assert_array_equal(target, again[1])


def test_tasks_without_self_supervision_refuse_pairs():
    with pytest.raises(TranslationError, match="paired or unpaired dataset"):
        training_pair(get_task("style-transfer"), smooth_photo(), np.random.default_rng(0))
    with pytest.raises(TranslationError, match="colorization, super-resolution, sketch-to-photo"):
        training_pair(TaskSpec("unregistered", "rgb", "rgb"), smooth_photo(), np.random.default_rng(0))


def test_lab_conversions_agree_with_kornia():
    import kornia
    import torch

    rgb = np.random.default_rng(5).random((64, 64, 3)).astype(np.float32)
    as_tensor = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None]  # noqa: E731
    ours = rgb_to_lab(rgb)
    theirs = kornia.color.rgb_to_lab(as_tensor(rgb))[0].permute(1, 2, 0).numpy()
    assert np.abs(ours - theirs).max() < 1.0  # Lab units (L 0..100, ab about +-110)
    back = kornia.color.lab_to_rgb(as_tensor(ours))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(lab_to_rgb(ours), np.clip(back, 0, 1), atol=2e-3)
