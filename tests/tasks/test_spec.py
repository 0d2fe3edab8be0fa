"""Task specs, their ONNX metadata, and the registry of tasks."""
from __future__ import annotations

import pytest

from translation.errors import TranslationError
from translation.tasks import Task, TaskSpec, get_task, register_task, task_named, task_names, unregister_task


def test_builtin_tasks():
    assert task_names() == ["style-transfer", "colorization", "super-resolution", "sketch-to-photo", "custom"]
    color = get_task("colorization")
    assert (color.input_space, color.output_space, color.in_channels, color.out_channels) == ("lab_l", "lab_ab", 1, 2)
    assert color.working_size == 512
    sr = get_task("super-resolution")
    assert (sr.in_channels, sr.out_channels, sr.scale) == (3, 3, 4)
    sketch = get_task("sketch-to-photo")
    assert (sketch.input_space, sketch.in_channels, sketch.out_channels) == ("gray", 1, 3)
    assert get_task("style-transfer").scale == 1 and get_task("custom").input_space == "rgb"
    assert [name for name in task_names() if get_task(name).self_supervised] == [
        "colorization", "super-resolution", "sketch-to-photo"]


def test_unknown_task_and_bad_specs():
    with pytest.raises(TranslationError, match="unknown task 'painting'"):
        get_task("painting")
    with pytest.raises(TranslationError, match="unknown input space"):
        TaskSpec("custom", "hsv", "rgb")
    with pytest.raises(TranslationError, match="scale"):
        TaskSpec("custom", "rgb", "rgb", scale=0)


@pytest.mark.parametrize("name", task_names())
def test_metadata_round_trip(name):
    spec = get_task(name)
    meta = spec.to_metadata()
    assert set(meta) == {"task", "input_space", "output_space", "in_channels", "out_channels", "scale", "working_size",
                         "working_shape", "chroma_gain", "keep_detail"}
    assert all(isinstance(value, str) for value in meta.values())
    assert TaskSpec.from_metadata(meta) == spec


def test_from_metadata_tolerates_missing_keys():
    assert TaskSpec.from_metadata({}) == TaskSpec("custom", "rgb", "rgb")
    gray = TaskSpec.from_metadata({"in_channels": "1", "out_channels": "1", "network": "unet_256"})
    assert (gray.name, gray.input_space, gray.output_space) == ("custom", "gray", "gray")
    assert (gray.in_channels, gray.out_channels) == (1, 1)
    assert TaskSpec.from_metadata({"task": "super-resolution", "scale": "2"}).scale == 2
    assert TaskSpec.from_metadata({"task": "my-own-task"}) == TaskSpec("my-own-task", "rgb", "rgb")


def test_from_metadata_rejects_contradictions():
    with pytest.raises(TranslationError, match="in_channels"):
        TaskSpec.from_metadata({"input_space": "rgb", "in_channels": "1"})
    with pytest.raises(TranslationError, match="channels"):
        TaskSpec.from_metadata({"in_channels": "5"})
    with pytest.raises(TranslationError, match="integer"):
        TaskSpec.from_metadata({"scale": "four"})


def test_from_metadata_fills_gaps_from_the_registered_task():
    assert TaskSpec.from_metadata({"task": "colorization"}) == get_task("colorization")
    assert TaskSpec.from_metadata({"task": "super-resolution", "in_channels": "3"}).scale == 4
    assert TaskSpec.from_metadata({"task": "colorization", "working_size": "0"}).working_size == 0
    assert TaskSpec.from_metadata({"task": "colorization"}).working_shape == "fit"  # files from before the key
    assert TaskSpec.from_metadata({"task": "colorization", "working_shape": "square"}).working_shape == "square"
    with pytest.raises(TranslationError, match="unknown working shape 'round'"):
        TaskSpec.from_metadata({"task": "colorization", "working_shape": "round"})
    assert TaskSpec.from_metadata({"task": "colorization"}).chroma_gain == 1.0
    assert TaskSpec.from_metadata({"task": "colorization", "chroma_gain": "1.2"}).chroma_gain == 1.2
    with pytest.raises(TranslationError, match="chroma_gain must be a number"):
        TaskSpec.from_metadata({"task": "colorization", "chroma_gain": "vivid"})
    with pytest.raises(TranslationError, match=r"chroma_gain must be in \(0, 4\]"):
        TaskSpec.from_metadata({"task": "colorization", "chroma_gain": "0"})
    assert TaskSpec.from_metadata({"task": "style-transfer"}).keep_detail is False  # files from before the key
    assert TaskSpec.from_metadata({"task": "style-transfer", "keep_detail": "true"}).keep_detail is True
    with pytest.raises(TranslationError, match="keep_detail must be true or false"):
        TaskSpec.from_metadata({"task": "style-transfer", "keep_detail": "sharp"})
    # the input's detail can only be added to an output of the same space and size
    with pytest.raises(TranslationError, match="keep_detail adds a network's change to its input"):
        TaskSpec.from_metadata({"task": "colorization", "keep_detail": "true"})
    with pytest.raises(TranslationError, match="scale 4"):
        get_task("super-resolution").replace(keep_detail=True)
    # a gray style-transfer model without spaces in its metadata: channels win over the registered default
    gray_style = TaskSpec.from_metadata({"task": "style-transfer", "in_channels": "1", "out_channels": "3"})
    assert (gray_style.input_space, gray_style.output_space) == ("gray", "rgb")


def test_a_registered_task_fills_metadata_gaps_until_it_is_removed():
    task = register_task(Task(spec=TaskSpec("half-size", "gray", "rgb", working_size=64)))
    try:
        assert task_names()[-1] == "half-size" and task_named("half-size") is task
        assert TaskSpec.from_metadata({"task": "half-size"}) == task.spec
        assert not task.spec.self_supervised
        with pytest.raises(ValueError, match="already registered"):
            register_task(Task(spec=TaskSpec("half-size", "rgb", "rgb")))
    finally:
        unregister_task("half-size")
    assert "half-size" not in task_names()
    assert TaskSpec.from_metadata({"task": "half-size"}) == TaskSpec("half-size", "rgb", "rgb")
    with pytest.raises(TranslationError, match="unknown task"):
        unregister_task("half-size")


def test_every_app_tab_endpoint_is_unique():
    tabs = [task_named(name).app for name in task_names() if task_named(name).app]
    endpoints = [name for tab in tabs for name in (tab.api_name, tab.drawing_api_name) if name]
    assert len(endpoints) == len(set(endpoints)) == 5
