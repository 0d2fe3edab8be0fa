"""DiffAugment: differentiable, seeded, shape-keeping; translation moves and cutout zeroes pixels."""
from __future__ import annotations

import io

import pytest
import torch

from translation.errors import TranslationError
from translation.training.diffaugment import DiffAugment, diff_augment, parse_policy


def images(n: int = 3, c: int = 3, h: int = 16, w: int = 24, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def seeded(seed: int = 1) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_gradients_flow_to_the_input(policy):
    x = images().requires_grad_(True)
    diff_augment(x, policy, seeded()).square().sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0


@pytest.mark.parametrize("shape", [(1, 1, 8, 8), (2, 6, 16, 12), (5, 4, 7, 9), (0, 3, 8, 8)])
def test_shape_dtype_and_layout_are_kept(shape):
    x = torch.rand(shape)
    out = diff_augment(x, generator=seeded())
    assert out.shape == x.shape and out.dtype == x.dtype
    last = torch.rand(2, 3, 8, 8).to(memory_format=torch.channels_last)
    assert diff_augment(last, generator=seeded()).is_contiguous(memory_format=torch.channels_last)


def test_same_generator_state_gives_the_same_transform_for_real_and_fake():
    real, fake = images(seed=0), images(seed=1)
    a, b = seeded(5), seeded(5)
    # The geometric parts move the same pixels: compare where each batch got zeroed and how it moved.
    marker = torch.ones_like(real)
    assert torch.equal(diff_augment(marker, "translation,cutout", a), diff_augment(marker, "translation,cutout", b))
    augment = DiffAugment(seed=3)
    real_out, fake_out, marker_out = augment.same(real, fake, marker)
    again = DiffAugment(seed=3)
    assert torch.equal(again(real), real_out)
    assert torch.equal((real_out == 0) & (marker_out == 0), marker_out == 0)  # real zeroed where the marker is
    assert torch.equal((fake_out == 0) & (marker_out == 0), marker_out == 0)
    assert not torch.equal(augment(real), real_out)  # the next call draws anew
    # translation and cutout are linear: one transform T has T(real) + T(fake) == T(real + fake)
    moved_real, moved_fake, moved_sum = DiffAugment("translation,cutout", seed=4).same(real, fake, real + fake)
    assert torch.allclose(moved_real + moved_fake, moved_sum, atol=1e-6)
    assert not torch.allclose(moved_sum, real + fake)


def test_state_round_trip_and_determinism_across_calls():
    augment = DiffAugment("color,translation,cutout", seed=11, channel_groups=(3, 3))
    x = images(c=6)
    augment(x)
    state = augment.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    resumed = DiffAugment("color,translation,cutout", seed=999, channel_groups=(3, 3))
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    for _ in range(3):
        assert torch.equal(augment(x), resumed(x))


def shifted(image: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``image`` (H x W) moved down by dy and right by dx, zeros coming in."""
    out = torch.zeros_like(image)
    h, w = image.shape
    out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = image[max(-dy, 0):h - max(dy, 0),
                                                                       max(-dx, 0):w - max(dx, 0)]
    return out


def test_translation_shifts_whole_pixels_with_zero_fill():
    x = torch.arange(1.0, 1 + 16 * 16).view(1, 1, 16, 16).repeat(8, 2, 1, 1)  # every pixel distinct, none 0
    out = diff_augment(x, "translation", seeded(2))
    shifts = []
    for image, source in zip(out, x):
        assert torch.equal(image[0], image[1])  # every channel moves alike
        found = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)  # up to 1/8 of 16
                 if torch.equal(image[0], shifted(source[0], dy, dx))]
        assert len(found) == 1
        shifts.append(found[0])
    assert len(set(shifts)) >= 4 and sum(s != (0, 0) for s in shifts) >= 6


def test_cutout_zeroes_a_half_size_rectangle():
    x = torch.ones(16, 2, 16, 16)
    out = diff_augment(x, "cutout", seeded(4))
    assert set(out.unique().tolist()) <= {0.0, 1.0}
    zeroed = out == 0
    assert torch.equal(zeroed[:, 0], zeroed[:, 1])
    for mask in zeroed[:, 0]:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        assert len(rows) <= 8 and len(cols) <= 8 and int(mask.sum()) == len(rows) * len(cols)  # one rectangle
    assert (zeroed[:, 0].flatten(1).sum(1) == 64).sum() >= 4  # many lie wholly inside: 8 x 8


def test_color_shares_factors_between_groups_and_leaves_one_channel_groups_saturation_alone():
    gray = images(n=4, c=1, seed=2)
    pair = torch.cat([gray, gray.expand(4, 3, -1, -1)], 1)  # a gray input and a gray "RGB" output
    out = diff_augment(pair, "color", seeded(6), channel_groups=(1, 3))
    assert torch.allclose(out[:, :1].expand(4, 3, -1, -1), out[:, 1:], atol=1e-5)  # alike, since gray RGB = L
    assert not torch.allclose(out, pair)
    with pytest.raises(ValueError, match="add up"):
        diff_augment(pair, "color", channel_groups=(3, 3))


def test_policy_parsing_and_identity():
    assert parse_policy("color, translation,cutout") == ("color", "translation", "cutout")
    assert parse_policy(" ") == () and parse_policy("") == ()
    x = images()
    assert diff_augment(x, "") is x
    with pytest.raises(TranslationError, match=r"unknown part 'flip'.*color, translation, cutout"):
        parse_policy("color,flip")
    with pytest.raises(TranslationError, match="more than once"):
        DiffAugment("cutout,cutout")

