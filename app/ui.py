"""The page: a tab per registered task with an ``AppTab`` (in registration order), a custom-model tab,
a Compare tab and a batch tab, wired to ``AppHandlers``."""
from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from translation.convert import OUTPUT_FORMATS
from translation.examples import EXAMPLES_DIR
from translation.imaging.files import list_images
from translation.tasks import AppTab, Task, registered_tasks

from .batch_gallery import batch_gallery_component
from .cards import missing_model_notice
from .compare_tab import compare_tab
from .handlers import COLOUR_STRENGTHS, AppHandlers
from .live_sketch import live_api_name, live_endpoint, live_toggle, redraw_on_strokes
from .video_tab import video_tab

INFERENCE = "inference"  # the concurrency group every model run belongs to
# Events get Gradio's raw file payloads (preprocess=False): gr.Image's preprocess would open every upload
# with Pillow and fail on a bad file with its own message; our reader gives the reason and copes with
# EXIF, 16-bit and CMYK. Gradio has already checked that uploaded paths lie in its upload folder.
RAW = dict(preprocess=False)
HEIGHT = 380
TILE_CHOICES = [("Automatic (the model's own)", 0), ("256 px", 256), ("512 px", 512), ("1024 px", 1024),
                ("2048 px", 2048)]

CSS = """
.gradio-container { max-width: 1180px !important; width: 100% !important; margin: 0 auto !important; }
#header h1 { margin-bottom: 0.1em; }
#header p { margin-top: 0; color: var(--body-text-color-subdued); }
.notice { border-left: 4px solid var(--color-accent); padding: 0.4em 0.9em !important;
          background: var(--block-background-fill); border-radius: 6px; }
.image-info p, .run-status p { font-size: var(--text-sm); color: var(--body-text-color-subdued); margin: 0; }
.blurb p { margin: 0.2em 0 0.6em 0; }
.download .empty { min-height: 72px !important; height: 72px !important; }
.download .empty .icon { height: 28px !important; }
.model-card table { border-collapse: collapse; width: 100%; font-size: var(--text-sm); border: none !important; }
.model-card tr { border: none !important; }
.model-card thead { display: none; }
.model-card td { border: none !important; border-bottom: 1px solid var(--border-color-primary) !important;
                 font-size: var(--text-sm) !important;
                 padding: 5px 10px !important; background: none !important; }
.model-card td:first-child { font-weight: 600; width: 32%; white-space: nowrap; }
.compare-table table { font-size: var(--text-sm); }
.compare-table th, .compare-table td { padding: 5px 10px !important; }
.compare-table td:first-child { white-space: nowrap; }
footer { opacity: 0.7; }
"""


@dataclass
class _Outputs:
    slider: gr.ImageSlider
    download: gr.File
    status: gr.Markdown

    def as_list(self) -> list:
        return [self.slider, self.download, self.status]


@dataclass
class ModelPicker:
    """A tab's model selector and the buttons that need a model: what "Rescan" brings up to date."""

    component: gr.Dropdown | gr.Radio
    buttons: list[gr.Button]
    choices: Callable[[], list]        # the current (label, value) pairs or names, from the registry
    locked_when_single: bool = False   # a task tab's dropdown: nothing to choose from with one model

    def updated(self, current: str | None) -> list[dict]:
        choices = self.choices()
        values = [c[1] if isinstance(c, tuple) else c for c in choices]
        value = current if current in values else (values[0] if values else None)
        lock = {"interactive": len(values) > 1} if self.locked_when_single else {}
        return [gr.update(choices=choices, value=value, **lock),
                *(gr.update(interactive=bool(values)) for _ in self.buttons)]


def example_images(task: str, examples_dir: Path | None = EXAMPLES_DIR) -> list[str]:
    """The images in ``examples/<task>/``; none when the folder is missing or empty."""
    folder = Path(examples_dir) / task if examples_dir else None
    if folder is None or not folder.is_dir():
        return []
    return [str(p) for p in list_images(folder)]


def build_demo(handlers: AppHandlers, *, examples_dir: Path | None = EXAMPLES_DIR,
               concurrency: int = 1) -> gr.Blocks:
    """The whole page. Model runs share one concurrency group of ``concurrency`` slots."""
    registry = handlers.registry
    run_options = dict(concurrency_id=INFERENCE, concurrency_limit=concurrency, show_progress="full", **RAW)

    # delete_cache: Gradio's copies of uploads and results older than a day go, checked hourly
    with gr.Blocks(title="Image translation", analytics_enabled=False, delete_cache=(3600, 86400)) as demo:
        count = len(registry.models)
        gr.Markdown("# Image-to-image translation\n"
                    f"pix2pix and CycleGAN models served with ONNX Runtime · {count} model{'s' * (count != 1)} "
                    "found · drop, paste or pick an image, then run.", elem_id="header")
        pickers: list[ModelPicker] = []
        with gr.Tabs():
            for task in registered_tasks():
                if task.app is not None:
                    with gr.Tab(task.app.title, id=task.name):
                        pickers.append(_task_tab(task, handlers, examples_dir, run_options))
            with gr.Tab("Custom model", id="custom"):
                custom, rescan, card = _custom_tab(handlers, examples_dir, run_options)
            with gr.Tab("Compare", id="compare"):
                pickers.append(compare_tab(handlers, run_options))
            with gr.Tab("Batch", id="batch"):
                pickers.append(_batch_tab(handlers, run_options))
            with gr.Tab("Video", id="video"):
                pickers.append(video_tab(handlers, run_options))
        pickers.insert(0, custom)

        def rescan_models(*current: str | None) -> list:
            registry.refresh()
            updates = [update for picker, value in zip(pickers, current) for update in picker.updated(value)]
            chosen = updates[0].get("value")  # the Custom tab's model, whose card shows beside it
            return [*updates, handlers.describe_model(chosen)]

        rescan.click(rescan_models, [p.component for p in pickers],
                     [c for p in pickers for c in (p.component, *p.buttons)] + [card], api_visibility="private")
    return demo


# ------------------------------------------------------------------------------------------ pieces

def _image_input(key: str, label: str = "Input image") -> tuple[gr.Image, gr.Markdown]:
    image = gr.Image(label=label, type="filepath", sources=["upload", "clipboard"], height=HEIGHT,
                     placeholder="Drop an image here, paste one, or click to browse", elem_id=f"{key}-input")
    info = gr.Markdown(elem_classes="image-info")
    return image, info


def _options() -> tuple[gr.Dropdown, gr.Radio]:
    with gr.Accordion("Options", open=False):
        with gr.Row():
            tile = gr.Dropdown(TILE_CHOICES, value=0, label="Tile size",
                               info="Large images run in overlapping tiles; smaller tiles need less memory.")
            fmt = gr.Radio(list(OUTPUT_FORMATS), value="png", label="Download format")
    return tile, fmt


def _result_column(key: str) -> _Outputs:
    slider = gr.ImageSlider(label="Before / after", format="png", height=HEIGHT, interactive=False,
                            buttons=["fullscreen"], elem_id=f"{key}-output")
    status = gr.Markdown(label="Summary", elem_classes="run-status")
    download = gr.File(label="Download (full resolution)", interactive=False, elem_classes="download")
    return _Outputs(slider, download, status)


def _examples(task: str, image: gr.Image, examples_dir: Path | None) -> None:
    images = example_images(task, examples_dir)
    if images:
        gr.Examples([[p] for p in images], inputs=[image], label="Examples", examples_per_page=8,
                    cache_examples=False, api_visibility="private")


def _watch_upload(handlers: AppHandlers, image: gr.Image, info: gr.Markdown) -> None:
    """Read each new input at once (upload, paste or example): its size, or why it is not an image."""
    image.change(handlers.inspect_upload, image, info, api_visibility="private", show_progress="hidden", **RAW)


def _model_dropdown(names: list[str], label: str) -> gr.Dropdown:
    return gr.Dropdown(names, value=names[0] if names else None, label=label, interactive=len(names) > 1,
                       allow_custom_value=False)


def _model_card(describe, model: gr.components.Component, *, folded: bool = True) -> gr.Markdown:
    """The chosen model's card, redrawn when the choice changes (see ``_redraw_card_after`` for runs)."""
    with gr.Accordion("Model card", open=False) if folded else contextlib.nullcontext():
        card = gr.Markdown(describe(model.value), elem_classes="model-card")
    model.change(describe, model, card, api_visibility="private", show_progress="hidden")
    return card


def _redraw_card_after(run, describe, model: gr.components.Component, card: gr.Markdown) -> None:
    """After a successful run the card can name the device the model ran on (known once it is loaded)."""
    run.success(describe, model, card, api_visibility="private", show_progress="hidden")


def _choices(tab: AppTab, names: list[str]) -> list[tuple[str, str]]:
    """(label, value) per model: the tab's named choices that are installed first, then the others by name."""
    offered = [(choice.label, choice.value) for choice in tab.choices if choice.model in names]
    named = {choice.model for choice in tab.choices}
    return offered + [(name, name) for name in names if name not in named]


def _model_picker(tab: AppTab, names: list[str]) -> gr.Dropdown | gr.Radio:
    if tab.choices:
        choices = _choices(tab, names)
        return gr.Radio(choices, value=choices[0][1] if choices else None, label=tab.choice_label)
    return _model_dropdown(names, tab.choice_label)


def _extract_checkbox(task: Task) -> list[gr.Checkbox]:
    """The "extract its line drawing" option, for tasks whose models can be fed the drawing of a photo."""
    if task.sketch_from_photo is None:
        return []
    return [gr.Checkbox(False, label="This is a photo: extract its line drawing first")]


def _colour_slider(task: Task) -> list[gr.Slider]:
    """The colour strength, for tasks whose models predict colour alone (times each model's own gain)."""
    if not task.spec.predicts_colour:
        return []
    low, high = COLOUR_STRENGTHS
    return [gr.Slider(low, high, value=1.0, step=0.05, label="Colour strength", elem_id=f"{task.name}-strength",
                      info="1 is the model's own; lower for muted colour, higher for more vivid (and more wrong) "
                           "colour")]


def _run_button(tab: AppTab, names: list[str], elem_id: str) -> gr.Button:
    return gr.Button(tab.button, variant="primary", interactive=bool(names), elem_id=elem_id)


def _task_tab(task: Task, handlers: AppHandlers, examples_dir: Path | None, run_options: dict) -> ModelPicker:
    """The tab ``task.app`` describes: an upload (and a sketchpad when it asks for one), its models, the result."""
    tab, registry = task.app, handlers.registry
    names = registry.names(task.name)
    gr.Markdown(tab.blurb, elem_classes="blurb")
    if not names:
        gr.Markdown(missing_model_notice(task.name, tab.title), elem_classes="notice")

    with gr.Row(equal_height=False):
        with gr.Column():
            if tab.drawing_api_name:
                with gr.Tabs():
                    with gr.Tab("Draw"):
                        pad = gr.Sketchpad(label="Sketch", type="filepath", canvas_size=(512, 512), height=HEIGHT,
                                           brush=gr.Brush(colors=list(tab.drawing_colours), color_mode="fixed", default_size=3),
                                           layers=False, placeholder="Pick the brush on the left, then draw")
                        live = live_toggle(task.name)
                        run_drawing = _run_button(tab, names, f"{task.name}-draw-run")
                    with gr.Tab("Upload"):
                        image, info = _image_input(task.name, tab.upload_label)
                        extract = _extract_checkbox(task)
                        run = _run_button(tab, names, f"{task.name}-run")
                        _examples(task.name, image, examples_dir)
                model = _model_picker(tab, names)
                colour = _colour_slider(task)
                tile, fmt = _options()
            else:
                image, info = _image_input(task.name, tab.upload_label)
                extract = _extract_checkbox(task)
                model = _model_picker(tab, names)
                colour = _colour_slider(task)
                tile, fmt = _options()
                run = _run_button(tab, names, f"{task.name}-run")
                _examples(task.name, image, examples_dir)
        with gr.Column():
            out = _result_column(task.name)

    def describe(chosen: str | None) -> str:
        return handlers.describe_model(chosen, task.name)

    card = _model_card(describe, model)
    _watch_upload(handlers, image, info)
    events = [run.click(handlers.endpoints[tab.api_name], [image, *extract, model, tile, fmt, *colour], out.as_list(),
                        api_name=tab.api_name, **run_options)]
    buttons = [run]
    if tab.drawing_api_name:
        events.append(run_drawing.click(handlers.endpoints[tab.drawing_api_name], [pad, model, tile, fmt],
                                        out.as_list(), api_name=tab.drawing_api_name, **run_options))
        buttons.append(run_drawing)
        live_name = live_api_name(tab.drawing_api_name)
        redraw_on_strokes(pad, live, live_endpoint(handlers, task.name, live_name), [model, tile, fmt],
                          out.as_list(), live_name, run_options)
    for event in events:
        _redraw_card_after(event, describe, model, card)
    if tab.choices:
        return ModelPicker(model, buttons, lambda: _choices(tab, registry.names(task.name)))
    return ModelPicker(model, buttons, lambda: registry.names(task.name), locked_when_single=True)


def _custom_tab(handlers: AppHandlers, examples_dir: Path | None,
                run_options: dict) -> tuple[ModelPicker, gr.Button, gr.Markdown]:
    registry = handlers.registry
    gr.Markdown("Run any ONNX model from the model folders (`exports/`, `--models`, `$TRANSLATION_MODELS`). "
                "Its metadata says how to prepare the input and read the output.", elem_classes="blurb")
    names = registry.names()
    if not names:
        gr.Markdown("⚠️ **No models found.** Export one with `translation export`, put it in `exports/` "
                    "or a folder given with `--models`, then rescan.", elem_classes="notice")
    with gr.Row(equal_height=False):
        with gr.Column():
            image, info = _image_input("custom")
            model = gr.Dropdown(names, value=names[0] if names else None, label="Model")
            rescan = gr.Button("Rescan the model folders", size="sm", variant="secondary")
            tile, fmt = _options()
            run = gr.Button("Run model", variant="primary", interactive=bool(names), elem_id="custom-run")
            _examples("custom", image, examples_dir)
        with gr.Column():
            out = _result_column("custom")
            card = _model_card(handlers.describe_model, model, folded=False)

    _watch_upload(handlers, image, info)
    _redraw_card_after(run.click(handlers.custom, [image, model, tile, fmt], out.as_list(), api_name="custom",
                                 **run_options), handlers.describe_model, model, card)
    return ModelPicker(model, [run], registry.names), rescan, card


def _batch_choices(registry) -> list[tuple[str, str]]:
    return [(f"{m.name} ({m.task.name})", m.name) for m in sorted(registry.models, key=lambda m: m.name)]


def _batch_tab(handlers: AppHandlers, run_options: dict) -> ModelPicker:
    registry = handlers.registry
    gr.Markdown("Translate many images at once with one model and download them as a zip. "
                f"Up to {handlers.max_batch_files} files; for whole folders use `translation convert`.",
                elem_classes="blurb")
    choices = _batch_choices(registry)
    with gr.Row(equal_height=False):
        with gr.Column():
            files = gr.File(label="Images", file_count="multiple", type="filepath", height=HEIGHT - 80,
                            elem_id="batch-files")
            model = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Model")
            extract = gr.Checkbox(False, label="Sketch models: the inputs are photos, extract their line drawings")
            tile, fmt = _options()
            run = gr.Button("Translate all", variant="primary", interactive=bool(choices), elem_id="batch-run")
        with gr.Column():
            archive = gr.File(label="Results (zip)", interactive=False, elem_classes="download")
            summary = gr.Markdown(label="Summary", elem_id="batch-summary")
            gallery = batch_gallery_component()
    run.click(handlers.batch, [files, model, tile, fmt, extract], [archive, summary, gallery], api_name="batch",
              **run_options)
    return ModelPicker(model, [run], lambda: _batch_choices(registry))
