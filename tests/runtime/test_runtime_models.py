"""Finding models: folders, names, model cards, metadata read without loading the weights."""
from __future__ import annotations

import json
import logging

import pytest
from tiny_models import export_tiny

from translation.atomic import TEMP_PREFIX
from translation.cli import main
from translation.errors import TranslationError
from translation.runtime import find_models, read_metadata, resolve_model
from translation.runtime.models import DEFAULT_MODELS_DIR, MODELS_ENV, model_dirs


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("models")
    export_tiny(folder, "painter", "resnet_1blocks", task="style-transfer")
    export_tiny(folder, "colorizer", "unet_32", task="colorization", in_channels=1, out_channels=2)
    (folder / "colorizer.json").write_text(json.dumps({"title": "Colorize", "license": "MIT"}))
    (folder / f"{TEMP_PREFIX}abc.onnx").write_bytes((folder / "painter.onnx").read_bytes())
    (folder / "notes.txt").write_text("not a model")
    return folder


def test_find_models_lists_a_folder_with_metadata_and_cards(model_dir):
    found = {info.name: info for info in find_models([model_dir])}
    assert {"painter", "colorizer"} <= set(found)
    assert not any(name.startswith(TEMP_PREFIX) for name in found)
    colorizer = found["colorizer"]
    assert colorizer.task.name == "colorization" and colorizer.in_channels == 1 and colorizer.out_channels == 2
    assert colorizer.card == {"title": "Colorize", "license": "MIT"}
    assert found["painter"].card is None and found["painter"].network == "resnet_1blocks"


def test_resolve_by_name_file_name_or_path(model_dir):
    by_name = resolve_model("painter", [model_dir])
    assert by_name.path == (model_dir / "painter.onnx").resolve()
    assert resolve_model("painter.onnx", [model_dir]).path == by_name.path
    assert resolve_model(model_dir / "painter.onnx").path == by_name.path
    with pytest.raises(TranslationError, match="unknown model 'nope'.*painter"):
        resolve_model("nope", [model_dir])
    with pytest.raises(TranslationError, match="not found"):
        resolve_model(model_dir / "missing.onnx")


def test_model_folders_from_the_environment(model_dir, tmp_path, monkeypatch):
    other = tmp_path / "other"
    other.mkdir()
    export_tiny(other, "painter", "unet_32", task="custom")    # same name: the earlier folder wins
    monkeypatch.setenv(MODELS_ENV, str(model_dir))
    assert model_dirs([other]) == [other, model_dir, DEFAULT_MODELS_DIR]
    assert resolve_model("colorizer").task.name == "colorization"
    assert resolve_model("painter", [other]).network == "unet_32"
    assert {info.name: info.network for info in find_models([other])}["painter"] == "unet_32"


def test_damaged_models_are_skipped_in_listings_and_refused_by_name(model_dir, tmp_path, caplog):
    folder = tmp_path / "mixed"
    folder.mkdir()
    data = (model_dir / "painter.onnx").read_bytes()
    (folder / "good.onnx").write_bytes(data)
    (folder / "cut.onnx").write_bytes(data[: len(data) // 2])
    (folder / "text.onnx").write_text("hello, not protobuf at all\n" * 10)
    with caplog.at_level(logging.WARNING):
        names = [info.name for info in find_models([folder])]
    assert "good" in names and "cut" not in names and "text" not in names
    assert "cut.onnx" in caplog.text
    with pytest.raises(TranslationError, match="cut.onnx"):
        read_metadata(folder / "cut.onnx")


def test_models_command_table_and_json(model_dir, capsys):
    assert main(["models", "--models", str(model_dir)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:4] == ["name", "task", "network", "channels"]
    row = next(line for line in table if line.startswith("colorizer"))
    assert "colorization" in row and "unet_32" in row and "1->2" in row and "MB" in row
    assert main(["models", "--models", str(model_dir), "--json"]) == 0
    entries = {e["name"]: e for e in json.loads(capsys.readouterr().out)}
    assert entries["painter"]["size_multiple"] == 4 and entries["painter"]["tile_size"] == 512
    assert entries["colorizer"]["scale"] == 1 and entries["colorizer"]["file_size"] > 0
    assert entries["colorizer"]["card"]["title"] == "Colorize"
