"""The weight average: its arithmetic, warm-up, copied buffers, DDP unwrapping and a bit-identical resume."""
from __future__ import annotations

import io

import pytest
import torch
from torch import nn

from translation.training.ema import EMA, unwrap


def tiny(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.Conv2d(3, 2, 1))


def train_a_little(net: nn.Module, steps: int, seed: int) -> None:
    """Change the weights and the batch-norm statistics, as training does."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for _ in range(steps):
            for p in net.parameters():
                p.add_(torch.randn(p.shape, generator=generator) * 0.1)
            net.train()(torch.randn(2, 2, 5, 5, generator=generator))


def test_average_follows_the_formula():
    net = tiny()
    ema = EMA(net, decay=0.9)
    expected = {name: p.detach().clone() for name, p in net.named_parameters()}
    for step in range(4):
        train_a_little(net, 1, seed=step)
        ema.update(net)
        for name, p in net.named_parameters():
            expected[name] = 0.9 * expected[name] + 0.1 * p.detach()
    for name, p in ema.module.named_parameters():
        assert torch.allclose(p, expected[name], atol=1e-6), name
        assert not torch.equal(p, dict(net.named_parameters())[name])
    assert ema.updates == 4


def test_warmup_decay_rises_to_the_limit():
    ema, live = EMA(tiny(), decay=0.99, warmup=True), tiny(seed=1)
    decays = []
    for _ in range(1000):
        decays.append(ema.current_decay())
        ema.update(live)
    assert decays[0] == pytest.approx(0.1) and decays[1] == pytest.approx(2 / 11)
    assert decays == sorted(decays) and decays[-1] == 0.99
    net = tiny(seed=1)
    first = EMA(tiny(), decay=0.999, warmup=True)
    first.update(net)  # weight 0.9 on the live weights at once
    weight = dict(net.named_parameters())["0.weight"]
    assert torch.allclose(first.module[0].weight, 0.1 * tiny()[0].weight + 0.9 * weight, atol=1e-6)
    assert EMA(tiny(), decay=0.999).current_decay() == 0.999


def test_buffers_are_copied_not_averaged():
    net = tiny()
    ema = EMA(net, decay=0.999)
    train_a_little(net, 3, seed=0)
    ema.update(net)
    live_bn, average_bn = net[1], ema.module[1]
    assert torch.equal(average_bn.running_mean, live_bn.running_mean)
    assert torch.equal(average_bn.running_var, live_bn.running_var)
    assert int(average_bn.num_batches_tracked) == 3
    assert not torch.allclose(average_bn.weight, live_bn.weight)  # a parameter: averaged


def test_module_is_a_frozen_eval_copy_and_the_model_stays_untouched():
    net = tiny().train()
    ema = EMA(net)
    assert ema.module is not net and not ema.module.training
    assert not any(p.requires_grad for p in ema.module.parameters())
    assert net.training and all(p.requires_grad for p in net.parameters())
    before = {k: v.clone() for k, v in net.state_dict().items()}
    ema.update(net)
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())


def test_resume_gives_bit_identical_updates():
    net = tiny()
    ema = EMA(net, decay=0.95, warmup=True)
    train_a_little(net, 1, seed=0)
    ema.update(net)
    buffer = io.BytesIO()
    torch.save({"ema": ema.state_dict(), "net": net.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)

    other_net = tiny(seed=5)
    other_net.load_state_dict(saved["net"])
    resumed = EMA(other_net, decay=0.95, warmup=True)
    resumed.load_state_dict(saved["ema"])
    for step in range(1, 4):
        train_a_little(net, 1, seed=step)
        train_a_little(other_net, 1, seed=step)
        ema.update(net)
        resumed.update(other_net)
    assert resumed.updates == ema.updates == 4
    for key, value in ema.module.state_dict().items():
        assert torch.equal(value, resumed.module.state_dict()[key]), key
    assert set(ema.state_dict()["weights"]) == set(net.state_dict())  # the live key layout


def test_wrapped_models_are_unwrapped_and_mismatches_refused():
    net = tiny()

    class Wrapper(nn.Module):  # what torch.compile puts around a module
        def __init__(self, inner: nn.Module) -> None:
            super().__init__()
            self._orig_mod = inner

    assert unwrap(Wrapper(net)) is net
    ema = EMA(Wrapper(net))
    assert set(ema.module.state_dict()) == set(net.state_dict())
    ema.update(Wrapper(net))
    with pytest.raises(ValueError):
        ema.update(nn.Sequential(nn.Conv2d(2, 3, 3)))


def test_ddp_is_unwrapped(tmp_path):
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel

    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        net = tiny()
        wrapped = DistributedDataParallel(net)
        ema = EMA(wrapped, decay=0.5)
        assert set(ema.module.state_dict()) == set(net.state_dict())  # no "module." prefix
        train_a_little(net, 1, seed=0)
        ema.update(wrapped)
        expected = 0.5 * tiny()[0].weight + 0.5 * net[0].weight
        assert torch.allclose(ema.module[0].weight, expected, atol=1e-6)
    finally:
        dist.destroy_process_group()
