"""The tasks: a registry of ``Task`` objects by name, one module per task.

    from translation.tasks import get_task, prepare, finish
    spec = get_task("colorization")                 # its TaskSpec: what its models are fed and give back
    network_input, context = prepare(spec, photo)   # H x W x 3 float [0, 1] -> C x H x W in [-1, 1]
    photo = finish(spec, network_output, context)

A task module holds everything about its task (spec, training-pair maker, evaluation measure, the
app's tab) and registers it with ``register_task``. Every module of this package is imported here,
the built-in tasks first in the app's tab order, so a new task is a new module and nothing else.
"""
import importlib
import pkgutil

# Importing a task module registers its task: this line's order is the app's tab order (do not sort it).
from . import style_transfer, colorization, super_resolution, sketch_to_photo, custom  # noqa: F401, I001
from .processing import decode, finish, lab_ab_to_rgb, photo_to_sketch, prepare, training_pair
from .sketch_to_photo import extract_sketch
from .spec import (
    CUSTOM,
    Examples,
    INPUT_SPACES,
    OUTPUT_SPACES,
    Measure,
    ModelUnderTest,
    Task,
    TaskSpec,
    find_task,
    get_task,
    register_task,
    registered_tasks,
    sketch_tasks,
    task_named,
    task_names,
    unregister_task,
)
from .tab import AppTab, ModelChoice

for _module in pkgutil.iter_modules(__path__):  # any other task module, after the built-in ones
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "CUSTOM", "INPUT_SPACES", "OUTPUT_SPACES", "AppTab", "Examples", "Measure", "ModelChoice", "ModelUnderTest", "Task",
    "TaskSpec", "decode", "extract_sketch", "find_task", "finish", "get_task", "lab_ab_to_rgb", "photo_to_sketch", "prepare",
    "register_task", "registered_tasks", "sketch_tasks", "task_named", "task_names", "training_pair",
    "unregister_task",
]
