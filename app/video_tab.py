"""The Video tab: a short clip through any model, stabilised (``translation.video.translate_video``),
shown beside the original, with a download and the ``translate_video`` API endpoint."""
from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from translation.errors import TranslationError
from translation.video import VideoLimits, VideoOptions, translate_video

from .handlers import AppHandlers, Upload, upload_path, user_errors
from .models import ModelRegistry
from .workspace import safe_stem

APP_LIMITS = VideoLimits(max_frame_pixels=1920 * 1080, max_seconds=60.0)   # a short clip, at most full HD
HEIGHT = 360


def model_choices(registry: ModelRegistry) -> list[tuple[str, str]]:
    return [(f"{m.name} ({m.task.name})", m.name) for m in sorted(registry.models, key=lambda m: m.name)]


class VideoTranslator:
    """The tab's endpoint over the app's registry and workspace."""

    def __init__(self, handlers: AppHandlers, limits: VideoLimits = APP_LIMITS) -> None:
        self.handlers, self.registry, self.limits = handlers, handlers.registry, limits

    def hide_paths(self, message: str) -> str:  # for user_errors
        return self.handlers.hide_paths(message)

    @user_errors
    def translate(self, video: Upload, model: str, stabilize: bool = True, extract_from_photo: bool = False,
                  progress: Any = gr.Progress()) -> tuple[str, str, str]:
        """A clip through ``model``: (the translated clip, the same file for download, a summary)."""
        source = upload_path(video)
        if not source:
            raise gr.Error("Upload a video first (drop a file or click to browse).", print_exception=False)
        progress(0, desc=f"loading {model}")
        engine = self.registry.engine(model)     # a scanned model's name only, never a path
        name = Path(source).name
        output = self.handlers.workspace.new_folder() / f"{safe_stem(name, 'clip')}-{safe_stem(model, 'model')}.mp4"
        try:
            summary = translate_video(source, output, engine, sketch_from_photo=bool(extract_from_photo),
                                      options=VideoOptions(stabilize=bool(stabilize), limits=self.limits),
                                      progress=lambda done, total: progress((done, total or None),
                                                                            desc="translating", unit="frames"))
        except TranslationError as exc:   # named by the upload's own name, not by where the server keeps it
            raise TranslationError(str(exc).replace(str(source), name)) from None
        how = "stabilised" if summary.stabilized else "frame by frame"
        text = (f"**{summary.frames} frames** {summary.width}×{summary.height} px, {how}, with "
                f"**{html.escape(model)}** on {engine.device} in {summary.seconds:.1f} s "
                f"({summary.frames_per_second:.1f} frames/s) · {summary.encoder}"
                f"{', ' + summary.audio if summary.audio else ', no audio'} · {output.name}")
        return str(output), str(output), text


@dataclass
class VideoPicker:
    """What "Rescan" brings up to date, as ``ui.ModelPicker`` does."""

    component: gr.Dropdown
    run: gr.Button
    registry: ModelRegistry

    @property
    def buttons(self) -> list[gr.Button]:
        return [self.run]

    def updated(self, current: str | None) -> list[dict]:
        choices = model_choices(self.registry)
        values = [value for _, value in choices]
        return [gr.update(choices=choices, value=current if current in values else (values[0] if values else None)),
                gr.update(interactive=bool(values))]


def video_tab(handlers: AppHandlers, run_options: dict, limits: VideoLimits = APP_LIMITS) -> VideoPicker:
    translator = VideoTranslator(handlers, limits)
    gr.Markdown("Translate a short clip with any model. Each frame goes through the model as an image would; "
                "stabilisation blends it with the previous result along the motion of the clip, so the "
                f"translation does not flicker. Sound is kept. Clips up to {limits.max_seconds:.0f} s, frames up to "
                f"{limits.max_frame_pixels / 1e6:.1f} megapixels (full HD is 2.1); for longer ones use "
                "`translation convert`.", elem_classes="blurb")
    choices = model_choices(handlers.registry)
    with gr.Row(equal_height=False):
        with gr.Column():
            clip = gr.Video(label="Original clip", sources=["upload"], include_audio=True, height=HEIGHT,
                            elem_id="video-input")
            model = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Model",
                                elem_id="video-model")
            stabilize = gr.Checkbox(True, label="Stabilise (no flicker between frames)")
            extract = gr.Checkbox(False, label="Sketch models: the frames are photos, extract their line drawings")
            run = gr.Button("Translate the clip", variant="primary", interactive=bool(choices), elem_id="video-run")
        with gr.Column():
            result = gr.Video(label="Translated clip", interactive=False, height=HEIGHT, elem_id="video-output")
            download = gr.File(label="Download", interactive=False, elem_classes="download")
            summary = gr.Markdown(elem_classes="run-status", elem_id="video-summary")
    run.click(translator.translate, [clip, model, stabilize, extract], [result, download, summary],
              api_name="translate_video", **run_options)
    return VideoPicker(model, run, handlers.registry)
