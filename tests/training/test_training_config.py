"""The papers' defaults, option checks, the family's own options, and what --resume may change."""
from __future__ import annotations

import json

import pytest

from translation.errors import TranslationError
from translation.training import TrainConfig, load_config
from translation.training.loop import _linear_decay


def test_paper_defaults():
    p2p, cyc = TrainConfig(model="pix2pix"), TrainConfig(model="cyclegan")
    assert (p2p.netG, p2p.norm, p2p.gan_mode) == ("unet_256", "batch", "vanilla")
    assert (cyc.netG, cyc.norm, cyc.gan_mode) == ("resnet_9blocks", "instance", "lsgan")
    for c in (p2p, cyc):
        assert (c.lr, c.beta1, c.beta2, c.batch_size, c.ngf, c.ndf) == (2e-4, 0.5, 0.999, 1, 64, 64)
        assert (c.epochs, c.epochs_decay, c.load_size, c.crop_size, c.netD) == (100, 100, 286, 256, "basic")
        c.validate()
    assert p2p.family_options.lambda_l1 == 100.0
    cyc_options = cyc.family_options
    assert (cyc_options.lambda_cycle, cyc_options.lambda_identity, cyc_options.pool_size) == (10.0, 0.5, 50)
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
    (dict(netG="vgg_16"), "unknown generator 'vgg_16'; choose one of .*unet_256"),
    (dict(task="deblurring"), "deblurring"),
    (dict(ema=1.0), "--ema 1.0: the decay must lie between 0 and 1"),
    (dict(ema=0.0), "--ema 0.0: the decay must lie between 0 and 1"),
    (dict(upsample="bilinear"), "--upsample 'bilinear': choose one of transpose, resize"),
    (dict(upsample="resize", netG="shuffle4_2blocks"), "--netG shuffle4_2blocks has one way of up-sampling"),
    (dict(diffaugment="translation,translation"), "translation is listed more than once"),
    (dict(diffaugment="color", task="colorization"), "the color part would shift the hue of colorization's lab_ab"),
    (dict(degradation=0.0, task="colorization"), "--degradation: the colorization task's training pairs are not degraded"),
    (dict(degradation=0.5), "--degradation: the custom task's training pairs are not degraded"),
    (dict(degradation=-1.0, task="super-resolution", netG="shuffle4_2blocks"), "--degradation -1.0: choose a rate from 0"),
])
def test_option_checks(changes, message):
    with pytest.raises(TranslationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        TrainConfig(model="pix2pix", **changes).validate()


def test_small_data_options_are_off_by_default_and_spectral_norm_drops_the_discriminator_norm():
    config = TrainConfig(model="cyclegan", ndf=8)
    assert (config.diffaugment, config.ema, config.spectral_norm, config.upsample) == ("", None, False, "transpose")
    assert (config.discriminator(3).norm, config.discriminator(3).spectral_norm) == ("instance", False)
    normalised = TrainConfig(model="cyclegan", ndf=8, n_layers_D=2, netD="n_layers",
                             spectral_norm=True).discriminator(3)
    assert (normalised.name, normalised.n_layers, normalised.ndf, normalised.norm, normalised.spectral_norm) == (
        "n_layers", 2, 8, "none", True)
    resize = TrainConfig(model="pix2pix", netG="unet_32", upsample="resize")
    resize.validate()
    assert resize.generator().upsample == "resize"


def test_resume_may_change_the_length_but_not_the_model(tmp_path):
    saved = TrainConfig(model="pix2pix", data=tmp_path, out=tmp_path / "run", ngf=8)
    longer = saved.resumed_with({"epochs": 300, "max_steps": 10, "ngf": 8, "out": tmp_path / "run", "resume": True})
    assert (longer.epochs, longer.max_steps, longer.ngf, longer.resume) == (300, 10, 8, True)
    with pytest.raises(TranslationError, match="--ngf 16 differs from the run being resumed"):
        saved.resumed_with({"ngf": 16})
    with pytest.raises(TranslationError, match=r"--lambda-l1 10.0 differs from the run being resumed .*\(100.0\)"):
        saved.resumed_with({"lambda_l1": 10.0})  # a family's option is part of the run too
    assert saved.resumed_with({"lambda_l1": 100.0}) == saved
    assert TrainConfig.from_dict(longer.to_dict()) == longer


def test_family_options_are_kept_apart_and_saved(tmp_path):
    config = TrainConfig.from_options("cyclegan", data=tmp_path, out=tmp_path / "run", pool_size=0, ngf=8)
    assert (config.ngf, config.family_options.pool_size, config.family_options.lambda_cycle) == (8, 0, 10.0)
    saved = config.to_dict()
    assert saved["family_options"] == {"lambda_cycle": 10.0, "lambda_cycle_b": 10.0, "lambda_identity": 0.5,
                                        "pool_size": 0}
    assert "pool_size" not in saved and "lambda_l1" not in saved
    config.save(tmp_path / "config.json")
    assert load_config(tmp_path / "config.json") == config
    with pytest.raises(TranslationError, match=r"pix2pix has no option 'pool_size' \(its options: lambda_l1, reconstruction\)"):
        TrainConfig(model="pix2pix", family_options={"pool_size": 4})
    with pytest.raises(TranslationError, match="unknown model family 'munit'; choose one of .*cyclegan.*pix2pix"):
        TrainConfig(model="munit")


def test_a_flat_config_of_the_earlier_layout_still_loads(tmp_path):
    # config.json as runs before the families had their own options wrote it: every option side by side
    old = TrainConfig(model="cyclegan", data=tmp_path, out=tmp_path / "run").to_dict()
    old |= {"lambda_l1": 100.0, "lambda_cycle": 5.0, "lambda_identity": 0.0, "pool_size": 7}
    del old["family_options"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    config = load_config(tmp_path / "config.json")
    assert (config.model, config.netG, config.out) == ("cyclegan", "resnet_9blocks", tmp_path / "run")
    assert config.family_options == type(config.family_options)(lambda_cycle=5.0, lambda_identity=0.0, pool_size=7)


def test_learning_rate_schedule_is_constant_then_linear_to_zero():
    # As the reference: epochs 0-2 at full rate, then 3/4, 2/4, 1/4; zero is where a next epoch would start.
    factor = _linear_decay(epochs=3, epochs_decay=3)
    assert [round(factor(e), 4) for e in range(7)] == [1.0, 1.0, 1.0, 0.75, 0.5, 0.25, 0.0]
