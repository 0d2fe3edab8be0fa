"""The 50-image history pool: fill, then return-and-replace with probability 0.5; state round-trips."""
from __future__ import annotations

import torch

from translation.training.pool import ImagePool


def batch(value: float, n: int = 1) -> torch.Tensor:
    return torch.full((n, 3, 4, 4), value)


def test_pool_fills_then_swaps_half_the_time():
    pool = ImagePool(size=5, seed=0)
    for i in range(5):  # until full, each new image comes straight back and is stored
        assert torch.equal(pool.query(batch(i)), batch(i))
    assert sorted(img[0, 0, 0, 0].item() for img in pool.images) == [0, 1, 2, 3, 4]

    from_history = 0
    for i in range(5, 405):
        out = pool.query(batch(i))
        if out[0, 0, 0, 0].item() != i:
            from_history += 1
            assert any(img[0, 0, 0, 0].item() == i for img in pool.images)  # the new one took its place
    assert 150 < from_history < 250  # p = 0.5
    assert len(pool.images) == 5


def test_pool_batches_state_and_off_switch():
    pool = ImagePool(size=3, seed=7)
    out = pool.query(torch.arange(4.0).view(4, 1, 1, 1).expand(4, 3, 2, 2))
    assert out.shape == (4, 3, 2, 2) and len(pool.images) == 3
    state = pool.state_dict()
    copy = ImagePool(size=3, seed=99)
    copy.load_state_dict(state)
    for i in range(20):
        assert torch.equal(pool.query(batch(10 + i)), copy.query(batch(10 + i)))
    off = ImagePool(size=0)
    assert torch.equal(off.query(batch(1.5, 2)), batch(1.5, 2)) and off.images == []
