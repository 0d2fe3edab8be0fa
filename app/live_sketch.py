"""Live sketch-to-photo: the drawing goes through the model after each stroke while "Redraw as I draw" is on.

The sketchpad's change event runs with ``trigger_mode="always_last"``: while a redraw runs the page sends
no other, and the strokes drawn meanwhile go as one request (the latest drawing) once it is done, so a
slow model never builds a backlog of stale drawings. Gradio 6 checks for a pending request before it
gathers the inputs, and gathering a drawing means uploading it, so a stroke made during that upload
could send a second request; a gate in the page (taken before the request is sent, given back when it
ends) closes that gap: one redraw request per page at a time. The redraws share the model runs' queue.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import gradio as gr

from .handlers import EMPTY_SKETCHPAD, AppHandlers, RunOutput

log = logging.getLogger(__name__)

# Run in the page before each redraw request is sent (with its inputs) and after it ends; one gate per endpoint.
_TAKE_GATE = """async (...inputs) => {
  const gate = ((window.translationLiveGates ??= {})[%(key)s] ??= {busy: false, waiting: []});
  if (gate.busy) await new Promise((resolve) => gate.waiting.push(resolve));
  gate.busy = true;
  return inputs;
}"""
_GIVE_BACK_GATE = """() => {
  const gate = (window.translationLiveGates ?? {})[%(key)s];
  const next = gate && gate.waiting.shift();
  if (next) next(); else if (gate) gate.busy = false;
}"""


def live_api_name(drawing_api_name: str) -> str:
    """The live endpoint of a sketchpad served at ``drawing_api_name``: ``sketch_drawing_to_photo_live``."""
    return f"{drawing_api_name}_live"


def live_toggle(key: str) -> gr.Checkbox:
    return gr.Checkbox(True, label="Redraw as I draw", elem_id=f"{key}-live",
                       info="Each stroke updates the photo; off: only the button does.")


def live_endpoint(handlers: AppHandlers, task: str, api_name: str) -> Callable[..., Any]:
    """``(drawing, live, model, tile_size, output_format)``: the drawing translated, as the button does;
    nothing changes while ``live`` is off, and an emptied sketchpad clears the result."""

    def endpoint(drawing: dict | None, live: bool = True, model: str | None = None, tile_size: int = 0,
                 output_format: str = "png", progress: Any = gr.Progress()) -> RunOutput | tuple:
        if not live:
            return gr.skip(), gr.skip(), gr.skip()
        try:
            result = handlers.run_drawing(task, drawing, model, tile_size, output_format, progress)
        except gr.Error as exc:
            if exc.message == EMPTY_SKETCHPAD:
                return None, None, ""
            raise
        log.info("live redraw: %s", result[2])
        return result

    endpoint.__name__ = endpoint.__qualname__ = api_name
    endpoint.__doc__ = f"A sketchpad drawing redrawn with a {task} model as it is drawn (live: off does nothing)."
    return endpoint


def redraw_on_strokes(pad: gr.Sketchpad, toggle: gr.Checkbox, endpoint: Callable, inputs: list, outputs: list,
                      api_name: str, run_options: dict) -> None:
    """Each change of ``pad`` runs ``endpoint(pad, toggle, *inputs)``, one request at a time per page.

    Preprocessed: while a change event listens, the sketchpad sends its pixels ahead (by id) and only
    Gradio's preprocessing reads them; the raw payload may still hold the drawing before the stroke.
    """
    key = json.dumps(api_name)
    event = pad.change(endpoint, [pad, toggle, *inputs], outputs, api_name=api_name, trigger_mode="always_last",
                       js=_TAKE_GATE % {"key": key}, **{**run_options, "show_progress": "minimal", "preprocess": True})
    event.then(None, js=_GIVE_BACK_GATE % {"key": key}, queue=False, api_visibility="private", show_progress="hidden")
