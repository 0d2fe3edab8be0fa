"""A run as TensorBoard shows it (``tensorboard --logdir runs/``): RUN_DIR/tensorboard/ holds event files
with every loss (``loss/NAME``), learning rate (``lr/OPTIMIZER``), validation score (``validation/NAME``),
the images per second (``speed/images_per_s``), the sample grids (``samples``) and the configuration as
hparams. Written by rank 0 only, beside the JSON-lines logs, which stay the record the tools read.

A resumed run opens the folder with ``purge_step`` just after the checkpoint's step, so TensorBoard drops
what the interrupted run logged after that step (it is logged again).
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .config import TrainConfig

FOLDER = "tensorboard"


class TensorBoardLog:
    def __init__(self, run_dir: Path, config: TrainConfig, metric: str, *, resumed_at: int | None) -> None:
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(str(Path(run_dir) / FOLDER),
                                    purge_step=None if resumed_at is None else resumed_at + 1)
        if resumed_at is None:  # the configuration once, at the start of the run
            self._hparams(config, metric)

    def _hparams(self, config: TrainConfig, metric: str) -> None:
        from torch.utils.tensorboard.summary import hparams

        for summary in hparams(hparam_values(config), {f"validation/{metric}": 0.0}):
            self.writer.file_writer.add_summary(summary)

    def scalars(self, group: str, values: Mapping[str, float], step: int) -> None:
        for name, value in values.items():
            self.writer.add_scalar(f"{group}/{name}", float(value), step)

    def picture(self, tag: str, rgb: np.ndarray, step: int) -> None:
        """An H x W x 3 float picture in [0, 1]."""
        self.writer.add_image(tag, np.clip(rgb, 0.0, 1.0), step, dataformats="HWC")

    def flush(self) -> None:
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def hparam_values(config: TrainConfig) -> dict[str, Any]:
    """The configuration as TensorBoard's hparams take it: flat, numbers, strings and booleans
    (the family's options as ``MODEL.NAME``; unset values as "none")."""
    values = config.to_dict()
    family = values.pop("family_options")
    values |= {f"{config.model}.{name}": value for name, value in family.items()}
    return {name: "none" if value is None else value for name, value in values.items()
            if value is None or isinstance(value, (bool, int, float, str))}
