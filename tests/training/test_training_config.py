"""The papers' defaults, option checks, and what --resume may change."""
from __future__ import annotations

import pytest

from translation.errors import TranslationError
from translation.training import TrainConfig
from translation.training.loop import _linear_decay


def test_paper_defaults():
    p2p, cyc = TrainConfig(model="pix2pix"), TrainConfig(model="cyclegan")
    assert (p2p.netG, p2p.norm, p2p.gan_mode) == ("unet_256", "batch", "vanilla")
    assert (cyc.netG, cyc.norm, cyc.gan_mode) == ("resnet_9blocks", "instance", "lsgan")
    for c in (p2p, cyc):
        assert (c.lr, c.beta1, c.beta2, c.batch_size, c.ngf, c.ndf) == (2e-4, 0.5, 0.999, 1, 64, 64)
        assert (c.epochs, c.epochs_decay, c.load_size, c.crop_size, c.netD) == (100, 100, 286, 256, "basic")
        assert (c.lambda_l1, c.lambda_cycle, c.lambda_identity, c.pool_size) == (100.0, 10.0, 0.5, 50)
        c.validate()
    assert p2p.generator().dropout and not cyc.generator().dropout
    assert TrainConfig(model="cyclegan", netG="unet_128", norm="batch").generator().name == "unet_128"


@pytest.mark.parametrize("changes,message", [
    (dict(netG="unet_256", crop_size=64), "--crop-size 64 is not a multiple of 256"),
    (dict(load_size=200), "--load-size 200 is smaller than --crop-size 256"),
    (dict(preprocess="none", batch_size=4), "needs --batch-size 1"),
    (dict(preprocess="zoom"), "--preprocess 'zoom'"),
    (dict(gan_mode="wasserstein"), "--gan-mode 'wasserstein'"),
    (dict(netD="huge"), "--netD 'huge'"),
    (dict(direction="up"), "--direction 'up'"),
    (dict(val_fraction=1.0), "--val-fraction"),
    (dict(netG="unet_100"), "power of two"),
])
def test_option_checks(changes, message):
    with pytest.raises(TranslationError, match=message.replace("(", r"\(")):
        TrainConfig(model="pix2pix", **changes).validate()


def test_resume_may_change_the_length_but_not_the_model(tmp_path):
    saved = TrainConfig(model="pix2pix", data=tmp_path, out=tmp_path / "run", ngf=8)
    longer = saved.resumed_with({"epochs": 300, "max_steps": 10, "ngf": 8, "out": tmp_path / "run", "resume": True})
    assert (longer.epochs, longer.max_steps, longer.ngf, longer.resume) == (300, 10, 8, True)
    with pytest.raises(TranslationError, match="--ngf 16 differs from the run being resumed"):
        saved.resumed_with({"ngf": 16})
    assert TrainConfig.from_dict(longer.to_dict()) == longer


def test_learning_rate_schedule_is_constant_then_linear_to_zero():
    # As the reference: epochs 0-2 at full rate, then 3/4, 2/4, 1/4; zero is where a next epoch would start.
    factor = _linear_decay(epochs=3, epochs_decay=3)
    assert [round(factor(e), 4) for e in range(7)] == [1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
