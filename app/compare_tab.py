"""The Compare tab: the chosen models of one task on one upload, their outputs side by side with each
model's time and card summary (``translation.runtime.compare_models`` does the work)."""
from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

import gradio as gr

from translation.errors import TranslationError
from translation.imaging.io import write_image
from translation.runtime import compare_models
from translation.tasks import find_task, registered_tasks

from .handlers import AppHandlers, Upload, upload_path, user_errors
from .models import ModelRegistry

MAX_MODELS = 6           # models one request may compare
DEFAULT_MODELS = 4       # ticked when a task is picked
HEIGHT = 380
Gallery = list[tuple[str, str]]   # (image file, caption)


def task_choices(registry: ModelRegistry) -> list[tuple[str, str]]:
    """(label, task) for every task with a model: the registered tasks in their order, then the others."""
    found = {model.task.name for model in registry.models}
    order = [task.spec.name for task in registered_tasks() if task.spec.name in found]
    order += sorted(found - set(order))
    return [(f"{_title(task)} ({len(registry.names(task))})", task) for task in order]


def default_task(registry: ModelRegistry) -> str | None:
    """The first task with two models or more (something to compare), else the first with one."""
    tasks = [task for _, task in task_choices(registry)]
    return next((task for task in tasks if len(registry.names(task)) > 1), tasks[0] if tasks else None)


def _title(task: str) -> str:
    registered = find_task(task)
    return registered.app.title if registered and registered.app else task


def _takes_sketches(task: str | None) -> bool:
    registered = find_task(task) if task else None
    return bool(registered and registered.sketch_from_photo)


class Comparer:
    """The tab's endpoint over the app's registry and workspace."""

    def __init__(self, handlers: AppHandlers) -> None:
        self.handlers = handlers
        self.registry = handlers.registry

    def hide_paths(self, message: str) -> str:  # for user_errors
        return self.handlers.hide_paths(message)

    @user_errors
    def compare(self, image: Upload, models: list[str] | None, extract_from_photo: bool = False,
                progress: Any = gr.Progress()) -> tuple[Gallery, str]:
        """``models`` (names of one task) on one upload: a gallery of outputs and a table of times and cards."""
        names = list(dict.fromkeys(models or []))
        if not names:
            raise gr.Error("Tick at least one model to compare.", print_exception=False)
        if len(names) > MAX_MODELS:
            raise gr.Error(f"{len(names)} models is more than the {MAX_MODELS} one comparison may run.",
                           print_exception=False)
        infos = [self.registry.get(name) for name in names]   # scanned names only, never a path
        tasks = sorted({info.task.name for info in infos})
        if len(tasks) > 1:
            raise TranslationError(f"models of one task can be compared, these are of {', '.join(tasks)}")
        source = upload_path(image)
        if not source:
            raise gr.Error("Upload an image first (drop a file, paste or click to browse).", print_exception=False)
        loaded = self.handlers._read(source)
        for index, name in enumerate(names):
            progress((index, len(names)), desc=f"loading {name}", unit="models")
            self.registry.engine(name)   # loaded before the clocks start; the cards learn the device
        results = compare_models(loaded, infos, threads=self.registry.threads,
                                 sketch_from_photo=bool(extract_from_photo),
                                 on_model=lambda index, info: progress((index, len(names)), desc=info.name,
                                                                       unit="models"))
        folder = self.handlers.workspace.new_folder()
        gallery, rows = [], ["| model | run | card |", "| --- | --- | --- |"]
        for result in results:
            name = result.model.name
            path = self.handlers.workspace.output_path(folder, source, name, "png")
            write_image(path, result.image.rgb, result.image.alpha)
            gallery.append((str(path), f"{name} · {result.seconds:.2f} s"))
            rows.append(f"| **{html.escape(name)}** | {result.seconds:.2f} s on {result.device} · "
                        f"{result.image.width}×{result.image.height} px | {html.escape(result.summary)} |")
        return gallery, "\n".join(rows)


@dataclass
class ComparePicker:
    """What "Rescan" brings up to date, as ``ui.ModelPicker`` does: the task, then its models and the button."""

    component: gr.Dropdown
    models: gr.CheckboxGroup
    extract: gr.Checkbox
    run: gr.Button
    registry: ModelRegistry

    @property
    def buttons(self) -> list:
        return [self.models, self.extract, self.run]

    def updated(self, current: str | None) -> list[dict]:
        choices = task_choices(self.registry)
        task = current if current in [value for _, value in choices] else default_task(self.registry)
        return [gr.update(choices=choices, value=task), *self.for_task(task)]

    def for_task(self, task: str | None) -> list[dict]:
        names = self.registry.names(task) if task else []
        return [gr.update(choices=names, value=names[:DEFAULT_MODELS]),
                gr.update(visible=_takes_sketches(task), value=False), gr.update(interactive=bool(names))]


def compare_tab(handlers: AppHandlers, run_options: dict) -> ComparePicker:
    registry, comparer = handlers.registry, Comparer(handlers)
    gr.Markdown("Run several models of one task on the same image (the shipped one against your own, two "
                "epochs of a run, fp32 against INT8) and see their outputs side by side, with each one's time "
                "and model card.", elem_classes="blurb")
    task = default_task(registry)
    names = registry.names(task) if task else []
    with gr.Row(equal_height=False):
        with gr.Column(scale=2):
            image = gr.Image(label="Input image", type="filepath", sources=["upload", "clipboard"], height=HEIGHT,
                             placeholder="Drop an image here, paste one, or click to browse", elem_id="compare-input")
            task_picker = gr.Dropdown(task_choices(registry), value=task, label="Task", elem_id="compare-task")
            models = gr.CheckboxGroup(names, value=names[:DEFAULT_MODELS], label=f"Models (up to {MAX_MODELS})",
                                      elem_id="compare-models")
            extract = gr.Checkbox(False, label="This is a photo: extract its line drawing first",
                                  visible=_takes_sketches(task))
            run = gr.Button("Compare", variant="primary", interactive=bool(names), elem_id="compare-run")
        with gr.Column(scale=3):
            gallery = gr.Gallery(label="Outputs", columns=2, height=HEIGHT, object_fit="contain", interactive=False,
                                 elem_id="compare-output")
            table = gr.Markdown(elem_id="compare-summary", elem_classes="compare-table")
    picker = ComparePicker(task_picker, models, extract, run, registry)
    task_picker.change(picker.for_task, task_picker, picker.buttons, api_visibility="private", show_progress="hidden")
    run.click(comparer.compare, [image, models, extract], [gallery, table], api_name="compare", **run_options)
    return picker
