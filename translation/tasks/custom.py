"""Custom: any other model, fed and read as its metadata says (by default rgb -> rgb). It may be a
sketch model of the user's own, so photos can be turned into line drawings for it."""
from __future__ import annotations

from .sketch_to_photo import extract_sketch
from .spec import CUSTOM, Task, TaskSpec, register_task

TASK = register_task(Task(spec=TaskSpec(CUSTOM, "rgb", "rgb"), sketch_from_photo=extract_sketch))
