"""Checkpoints load with weights_only=True: pickled objects are refused, corrupt files named."""
from __future__ import annotations

import collections
import pickle

import pytest
import torch

from translation.errors import TranslationError
from translation.networks.checkpoint import load_generator, read_checkpoint


class NotWeights:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_pickled_object_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"payload": NotWeights()}, path)
    with pytest.raises(TranslationError, match=r"evil\.pth: refused to load"):
        read_checkpoint(path)


def test_plain_pickle_is_not_a_checkpoint(tmp_path):
    path = tmp_path / "plain.pth"
    path.write_bytes(pickle.dumps(collections.Counter("abc")))
    with pytest.raises(TranslationError, match=r"plain\.pth"):
        read_checkpoint(path)


@pytest.mark.parametrize("content", [b"", b"hello world", b"PK\x03\x04 truncated zip"])
def test_corrupt_file_is_named(tmp_path, content):
    path = tmp_path / "latest_net_G.pth"
    path.write_bytes(content)
    with pytest.raises(TranslationError, match=r"latest_net_G\.pth"):
        read_checkpoint(path)


def test_truncated_checkpoint_is_named(tmp_path):
    path = tmp_path / "cut.pth"
    torch.save({"w": torch.rand(1000)}, path)
    path.write_bytes(path.read_bytes()[:1500])
    with pytest.raises(TranslationError, match=r"cut\.pth: not a readable"):
        read_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(TranslationError, match="not found"):
        load_generator(tmp_path / "nope.pth")


def test_foreign_state_dict_is_refused_with_its_keys(tmp_path):
    path = tmp_path / "classifier.pth"
    torch.save({"fc.weight": torch.rand(10, 4)}, path)
    with pytest.raises(TranslationError, match="not a generator state dict"):
        load_generator(path)
