"""Recipes train the default models from the built-in collections and ship them with model cards.

The collections are made from a fake package tree holding every committed entry (the real Debian
packages are not needed); each recipe runs a couple of steps only.
"""
from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
from PIL import Image

from translation import collections
from translation.cli import main
from translation.collections import load_curation
from translation.errors import TranslationError
from translation.recipes import RECIPES, dataset_for, get_recipe

WALLPAPERS = "/usr/share/wallpapers"


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("packages")
    rng = np.random.default_rng(0)
    curation = load_curation()
    for entry in curation.photos + curation.art:
        path = root / entry.lstrip("/")
        if entry.startswith(WALLPAPERS):
            path = path / "contents" / "images" / "320x288.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        y, x = np.mgrid[0:288, 0:320]
        base = rng.uniform(0, 255, 3)
        pixels = (base + 60 * np.sin(x[..., None] / rng.uniform(5, 30) + np.arange(3))).clip(0, 255)
        Image.fromarray(pixels.astype(np.uint8)).save(path)
    folder = tmp_path_factory.mktemp("cache") / "collections"
    collections.prepare(folder, source_root=root, install=False)
    return folder


def test_every_recipe_ships_what_the_app_expects():
    stems = {s.stem for r in RECIPES.values() if r.default for s in r.ships}
    assert stems == {"super-resolution", "colorization", "sketch-to-photo", "style-photo2art", "style-art2photo"}
    with pytest.raises(TranslationError, match="unknown recipe"):
        get_recipe("deblur")


def test_datasets_are_links_into_the_cache_without_black_and_white_photos(cache, tmp_path):
    data = dataset_for(get_recipe("colorization"), tmp_path / "run", cache=cache)
    gray = {r["path"].split("/")[-1] for r in collections.manifest(cache)["files"] if r.get("grayscale")}
    train = list((data / "train").iterdir())
    assert train and all(p.is_symlink() and p.resolve().is_relative_to(cache.resolve()) for p in train)
    assert not gray & {p.name for p in train}
    style = dataset_for(get_recipe("style-transfer"), tmp_path / "style", cache=cache)
    assert {p.name for p in style.iterdir()} == {"trainA", "trainB", "testA", "testB"}


def test_recipes_leave_out_the_packages_they_skip(cache, tmp_path):
    landscapes = {r["path"].split("/")[-1] for r in collections.manifest(cache)["files"]
                  if collections.packages.holders(r["entry"]) == ["endless-sky-data"]}
    assert landscapes

    def names(data, *folders):
        return {p.name for folder in folders for p in (data / folder).iterdir()}

    colour = dataset_for(get_recipe("colorization"), tmp_path / "colour", cache=cache)
    assert names(colour, "train", "val") and not names(colour, "train", "val") & landscapes
    style = dataset_for(get_recipe("style-transfer-refine"), tmp_path / "style", cache=cache)
    assert not names(style, "trainA", "testA") & landscapes
    upscale = dataset_for(get_recipe("super-resolution-refine"), tmp_path / "sr", cache=cache)
    assert landscapes <= names(upscale, "train", "val")


def test_recipe_trains_resumes_and_ships_a_model_with_its_card(cache, tmp_path):
    run, exports = tmp_path / "run", tmp_path / "exports"
    args = ["train", "--recipe", "super-resolution", "--out", str(run), "--cache", str(cache), "--device", "cpu"]
    assert main([*args, "--max-steps", "1"]) == 0
    assert main([*args, "--max-steps", "2", "--ship", "--exports", str(exports)]) == 0  # continues the run
    card = json.loads((exports / "super-resolution.json").read_text())
    assert card["task"] == "super-resolution" and card["training"]["steps"] == 2
    assert card["network"]["residual"] is True and card["network"]["name"] == "shuffle4_12blocks"
    assert card["parameters"] > 200_000
    assert card["training"]["checkpoint"] == "step_000000002.pt"  # no epoch finished: no best.pt yet
    assert card["metrics"]["held_out_images"] == len(list((run / "dataset" / "val").iterdir()))
    assert {"psnr", "bicubic_psnr", "ssim", "bicubic_ssim", "degraded_psnr", "degraded_bicubic_psnr"} <= set(card["metrics"])
    meta = {p.key: p.value for p in onnx.load(exports / "super-resolution.onnx").metadata_props}
    assert meta["task"] == "super-resolution" and meta["scale"] == "4"


def test_style_recipe_ships_both_directions_with_cycle_errors(cache, tmp_path):
    exports = tmp_path / "exports"
    assert main(["train", "--recipe", "style-transfer", "--out", str(tmp_path / "run"), "--cache", str(cache),
                 "--max-steps", "2", "--ship", "--exports", str(exports)]) == 0
    for stem in ("style-photo2art", "style-art2photo"):
        card = json.loads((exports / f"{stem}.json").read_text())
        assert card["task"] == "style-transfer" and card["metrics"]["cycle_l1"] > 0
        assert (exports / f"{stem}.onnx").stat().st_size == card["onnx_bytes"]


def test_cut_recipe_ships_into_its_run_folder_with_the_distance_to_the_art(cache, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the default exports/ of the working folder must stay untouched
    run = tmp_path / "run"
    assert main(["train", "--recipe", "style-transfer-cut", "--out", str(run), "--cache", str(cache),
                 "--max-steps", "2", "--ship"]) == 0
    assert not (tmp_path / "exports").exists()
    card = json.loads((run / "exports" / "style-photo2art-cut.json").read_text())
    assert card["family"] == "cut" and card["training"]["steps"] == 2
    assert card["metrics"]["swd"] > 0 and card["metrics"]["swd_input"] > 0
    assert "--target ~/.cache/translation/collections/art/val" in card["metrics"]["command"]
    meta = {p.key: p.value for p in onnx.load(run / "exports" / "style-photo2art-cut.onnx").metadata_props}
    assert meta["task"] == "style-transfer" and json.loads(meta["training"])["model"] == "cut"


def test_refine_recipe_continues_the_shipped_model_and_says_so_on_its_card(cache, tmp_path):
    from translation.default_models import MODELS_DIR
    from translation.digest import file_sha256

    shipped = MODELS_DIR / "super-resolution.onnx"
    exports = tmp_path / "exports"
    assert main(["train", "--recipe", "super-resolution-refine", "--out", str(tmp_path / "run"), "--cache", str(cache),
                 "--device", "cpu", "--max-steps", "1", "--ship", "--exports", str(exports)]) == 0
    card = json.loads((exports / "super-resolution.json").read_text())
    assert card["recipe"] == "super-resolution-refine"
    origin = card["training"]["started_from"]
    assert origin["file"] == "super-resolution.onnx" and origin["sha256"] == file_sha256(shipped)
    assert "steps" in origin["training"]   # the shipped file's own card, carried along
    settings = card["training"]["settings"]
    assert (settings["lr"], settings["lambda_l1"], settings["degradation"], settings["enlarge"]) == (1e-4, 100000.0, 0.0, False)
    meta = {p.key: p.value for p in onnx.load(exports / "super-resolution.onnx").metadata_props}
    assert meta["tile_size"] == "2048" and card["export"] == {"tile_size": 2048}  # the card says how it runs
