"""The training progress bar: steps of the whole run (all epochs), images per second and the time left for
the whole run, validation and checkpoints included (the time per step so far in this session, times the
steps left), then the latest losses."""
from __future__ import annotations

import time
from collections.abc import Mapping

from tqdm import tqdm

BAR_FORMAT = "{desc}{percentage:3.0f}%|{bar}| step {n_fmt}/{total_fmt} [{elapsed}{postfix}]"


def clock(seconds: float) -> str:
    """H:MM:SS (or M:SS under an hour)."""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class RunProgress:
    def __init__(self, total_steps: int, done_steps: int, images_per_step: int, *, enabled: bool) -> None:
        self.total, self.images_per_step = total_steps, images_per_step
        self.bar = tqdm(total=total_steps, initial=done_steps, disable=not enabled, dynamic_ncols=True,
                        bar_format=BAR_FORMAT)
        self.started = self.window_started = time.monotonic()
        self.first_step, self.step, self.window_steps = done_steps, done_steps, 0
        self.rate = 0.0
        self.losses: dict[str, float] = {}

    def advance(self) -> None:
        self.bar.update(1)
        self.step += 1
        self.window_steps += 1

    def images_per_second(self) -> float:
        """The training speed since the last call (the window between two log lines), in images per second
        over all processes; the bar shows it from now on."""
        now = time.monotonic()
        if self.window_steps and now > self.window_started:
            self.rate = self.window_steps * self.images_per_step / (now - self.window_started)
        self.window_started, self.window_steps = now, 0
        return self.rate

    def remaining(self) -> float | None:
        """Seconds left for the whole run at this session's pace so far (None before the first step)."""
        done = self.step - self.first_step
        if done <= 0:
            return None
        return (time.monotonic() - self.started) / done * (self.total - self.step)

    def show(self, losses: Mapping[str, float] | None = None) -> None:
        if losses is not None:
            self.losses = dict(losses)
        left = self.remaining()
        parts = [f"{self.rate:.3g} img/s" if self.rate else "", f"run ETA {clock(left)}" if left is not None else ""]
        parts += [f"{name} {value:.3f}" for name, value in self.losses.items()]
        self.bar.set_postfix_str(", ".join(p for p in parts if p), refresh=False)

    def close(self) -> None:
        self.bar.close()
