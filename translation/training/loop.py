"""The training loop shared by the model families (training/families/), to be read top to bottom.

    setup (device, seeds, process group) -> data (the family's) -> networks and optimizers (the family)
    -> resume -> for each epoch: for each batch: family.train_step, EMA update; log, sample, checkpoint
                 then: learning-rate schedule, validation (and checkpoints/best.pt when it is the best)
    -> final checkpoint and the family's generators in the reference layout (latest_net_NAME.pth)

With --ema the loop keeps an average of each generator's weights (ema.py), saved in the checkpoints
beside the live ones; validation, sample grids and latest_net_NAME.pth use the averages.

RUN_DIR holds config.json, checkpoints/, losses.jsonl, metrics.jsonl, samples/, latest_net_*.pth and, unless
--no-tensorboard, tensorboard/ (the same losses, scores and samples, images/s and the configuration).
"""
from __future__ import annotations

import logging
import math
import random
import re
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..atomic import atomic_path
from ..data.augment import sample_seed
from ..data.datasets import EpochSampler
from ..errors import TranslationError
from ..imaging.io import write_image
from ..networks.checkpoint import CHECKPOINT_KIND
from ..tasks import CUSTOM, get_task
from . import distributed
from .checkpointing import (best_checkpoint_path, list_checkpoints, load_latest_checkpoint, rng_state,
                            save_best_checkpoint, save_checkpoint, set_rng_state)
from .config import TrainConfig
from .data import TrainingData, train_loader
from .diffaugment import parse_policy
from .ema import EMA
from .families import get_family
from .family import Family
from .fast import plan_speed
from .metrics import append_jsonl, grid_picture, truncate_jsonl
from .progress import RunProgress
from .tensorboard_log import TensorBoardLog

log = logging.getLogger(__name__)


def train(config: TrainConfig, *, progress: bool = False) -> Path:
    """Train (or, with ``config.resume``, continue) the run in ``config.out``; returns the run folder."""
    config.validate()
    runtime = distributed.setup(config.device)
    deterministic = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        return _train(config, runtime, progress)
    finally:
        torch.use_deterministic_algorithms(deterministic[0], warn_only=deterministic[1])
        distributed.teardown(runtime)


def _train(config: TrainConfig, runtime: distributed.Runtime, progress: bool) -> Path:
    run_dir, device, main = config.out, runtime.device, runtime.is_main

    # ---- checkpoint to continue from (or make sure we do not train over an earlier run)
    resumed: dict[str, Any] | None = None
    if config.resume:
        found = load_latest_checkpoint(run_dir)
        if found is None:
            raise TranslationError(f"{run_dir}: no complete checkpoint to resume from "
                                   f"(looked in {run_dir / 'checkpoints'}); start without --resume")
        resumed_path, resumed = found
        log.info("resuming from %s (step %d)", resumed_path, resumed["step"])
    elif list_checkpoints(run_dir):
        raise TranslationError(f"{run_dir}: already holds a training run (checkpoints/); add --resume to "
                               "continue it, or choose another --out")

    # ---- determinism and speed settings
    _seed_everything(config.seed)
    if device.type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
    else:
        torch.backends.cudnn.benchmark = True
    speed = plan_speed(config, device)

    # ---- data
    data = build_data(config)
    sampler = EpochSampler(len(data.train), seed=config.seed, rank=runtime.rank, world_size=runtime.world_size)
    batches_per_epoch = math.ceil(sampler.per_rank / config.batch_size)
    loader = train_loader(data, sampler, config, speed)
    val_loader = (DataLoader(data.val, batch_size=1 if config.preprocess == "none" else config.batch_size,
                             num_workers=min(config.workers, 2)) if data.val is not None else None)
    sample_batches = list(DataLoader(data.samples, batch_size=1)) if main else []

    # ---- networks, optimizers, learning-rate schedules (same initial weights on every rank)
    family = get_family(config.model)(config, data.spec, runtime, speed)
    _check_family_applies(config, family)
    # where the weights started (--start-from), kept through resumes for the checkpoints and model cards
    started_from = (resumed["info"].get("started_from", {}) if resumed is not None
                    else _load_start_weights(config, family))
    decay = _linear_decay(config.epochs, config.epochs_decay)
    schedulers = {name: torch.optim.lr_scheduler.LambdaLR(opt, decay) for name, opt in family.optimizers.items()}
    # warm-up: the average soon forgets the random initial weights, which matters in short runs
    averages = ({name: EMA(family.networks[name], config.ema, warmup=True) for name in family.generators}
                if config.ema is not None else {})
    # what validation, the sample grids and latest_net_NAME.pth show of each generator
    shown = {name: averages[name].module if averages else family.networks[name] for name in family.generators}
    _seed_everything(sample_seed(config.seed, runtime.rank, 1))  # dropout etc. differ between ranks

    step, epoch, position, wall_before = 0, 0, 0, 0.0
    best: dict[str, Any] | None = None  # the best validation so far: metric, value, step, epoch
    if resumed is not None:
        step, epoch, position, wall_before = _restore(resumed, family, schedulers, averages, runtime)
        best = resumed.get("best")
        if main:  # drop what the interrupted run logged after its checkpoint (it is done again now)
            truncate_jsonl(run_dir / "losses.jsonl", step)
            epoch_end_pending = position >= batches_per_epoch
            truncate_jsonl(run_dir / "metrics.jsonl", step - 1 if epoch_end_pending else step)
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        config.save(run_dir / "config.json")
        log.info("%s; %d batches of %d per epoch per process, %d process(es) on %s (%s)", data.describe,
                 batches_per_epoch, config.batch_size, runtime.world_size, device, speed.describe())
    board = (TensorBoardLog(run_dir, config, family.best_score, resumed_at=step if resumed is not None else None)
             if main and config.tensorboard else None)

    def to_device(batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.to(device, non_blocking=True, memory_format=family.memory_format)
                for k, v in batch.items() if isinstance(v, torch.Tensor)}

    def validate() -> None:
        if main and val_loader is not None:
            scores = family.validate(val_loader, shown)
            log.info("validation at epoch %d, step %d: %s", epoch, step,
                     ", ".join(f"{name} {value:.4g}" for name, value in scores.items()))
            append_jsonl(run_dir / "metrics.jsonl", {"step": step, "epoch": epoch, **scores})
            if board is not None:
                board.scalars("validation", scores, step)
            last_scores.update(scores)
            if step > 0:  # the untrained networks are no candidate
                keep_if_best(scores)
        runtime.barrier()

    def keep_if_best(scores: dict[str, float]) -> None:
        nonlocal best
        value = scores[family.best_score]
        if best is None or (value < best["value"] if family.lower_is_better else value > best["value"]):
            best = {"metric": family.best_score, "value": value, "step": step, "epoch": completed_epochs()}
            save_best_checkpoint(run_dir, {**_generators_payload(config, family, averages, family.generators),
                                           "info": {**info(), "best": dict(best)}})
            log.info("best %s so far (%.4g at step %d): %s", best["metric"], value, step, best_checkpoint_path(run_dir))

    def save_samples() -> None:
        if main:
            rows = [row for batch in sample_batches for row in family.visuals(to_device(batch), shown)]
            grid = grid_picture(rows)
            write_image(run_dir / "samples" / f"step_{step:09d}.png", grid)
            if board is not None:
                board.picture("samples", grid, step)

    def completed_epochs() -> int:
        # on an epoch's last batch (a checkpoint there, a finished run resumed) ``epoch`` has not moved on yet
        return epoch + (position >= batches_per_epoch)

    def info() -> dict[str, Any]:
        return {**_info(config, data, step, completed_epochs(), wall_before + time.monotonic() - started,
                        last_losses, last_scores), **family.run_details(),
                **({"started_from": started_from} if started_from else {})}

    def checkpoint() -> None:
        ranks = runtime.gather({"rng": rng_state(device), **family.rank_state()})
        if main:
            payload = _checkpoint_payload(config, family, averages, schedulers, step, epoch, position, ranks,
                                          runtime.world_size, info(), best)
            save_checkpoint(run_dir, step, payload, config.keep)
            if board is not None:
                board.flush()
        runtime.barrier()

    # ---- the loop
    total_steps = epochs_steps = config.total_epochs * batches_per_epoch
    if config.max_steps is not None:
        total_steps = min(config.max_steps, epochs_steps)
    last_losses: dict[str, float] = {}
    last_scores: dict[str, float] = {}
    running: dict[str, torch.Tensor] = {}
    running_count = 0
    saved_step = step if resumed is not None else -1
    bar = RunProgress(total_steps, step, config.batch_size * runtime.world_size, enabled=progress and main)
    started = time.monotonic()
    if resumed is None:
        validate()  # the starting point, to compare the epochs with
    done = step >= total_steps
    while not done and epoch < config.total_epochs:
        sampler.set_epoch(epoch, start=position * config.batch_size)
        for batch in loader:
            losses = family.train_step(to_device(batch), speed.autocast)
            for name, average in averages.items():
                average.update(family.networks[name])
            step += 1
            position += 1
            bar.advance()
            for name, value in losses.items():
                running[name] = running.get(name, 0) + value
            running_count += 1

            if step % config.log_every == 0 or step == total_steps:
                last_losses = {name: float(value) / running_count for name, value in running.items()}
                running, running_count = {}, 0
                if main:
                    speed_now = bar.images_per_second()
                    bar.show(last_losses)
                    lr = next(iter(family.optimizers.values())).param_groups[0]["lr"]  # one schedule for all
                    append_jsonl(run_dir / "losses.jsonl", {"step": step, "epoch": epoch, "lr": lr, **last_losses})
                    if board is not None:
                        board.scalars("loss", last_losses, step)
                        board.scalars("lr", {name: opt.param_groups[0]["lr"]
                                             for name, opt in family.optimizers.items()}, step)
                        board.scalars("speed", {"images_per_s": speed_now}, step)
            if step % config.sample_every == 0:
                save_samples()
            if step % config.save_every == 0:
                checkpoint()
                saved_step = step
            if step >= total_steps:
                done = True
                break
        if done and position < batches_per_epoch:
            break  # stopped inside an epoch (--max-steps): a resume picks up here
        with warnings.catch_warnings():  # a run resumed at an epoch's end steps its schedule first
            warnings.filterwarnings("ignore", message=re.escape("Detected call of `lr_scheduler.step()` before"))
            for scheduler in schedulers.values():
                scheduler.step()
        epoch += 1
        position = 0
        validate()
        done = done or step >= total_steps
    bar.close()

    # ---- the end: a last checkpoint and the generator(s) alone, in the reference layout
    if saved_step != step:
        checkpoint()
    if main:
        if step % config.sample_every:  # else the loop has just drawn them
            save_samples()
        for name in family.generators:
            with atomic_path(run_dir / f"latest_net_{name}.pth") as tmp:
                torch.save(_cpu_state(shown[name]), tmp)
            flags = _reference_export_flags(family.generator_configs[name])
            if flags:
                log.info("latest_net_%s.pth: the reference layout cannot record it all; export it with %s "
                         "(the checkpoints in %s record everything)", name, flags, run_dir / "checkpoints")
        if averages:
            log.info("latest_net_*.pth hold the averaged generator weights (--ema %g); the checkpoints hold both, "
                     "and `translation export %s --weights live` the trained ones", config.ema, run_dir)
        log.info("done: %d steps, %d epochs; run folder %s", step, completed_epochs(), run_dir)
    if board is not None:
        board.close()
    return run_dir


def _load_start_weights(config: TrainConfig, family: Family) -> dict[str, Any]:
    from ..networks.start_weights import load_start_weights

    origins = {}
    for name, path in config.start_from.items():
        origins[name] = load_start_weights(family.networks[name], path, name, family.generator_configs[name].size_multiple)
        log.info("%s starts from the weights of %s", name, path)
    return origins


def _check_family_applies(config: TrainConfig, family: Family) -> None:
    """Options the family has to act on itself: refused when it does not, rather than silently ignored."""
    if parse_policy(config.diffaugment) and family.augment is None:
        raise TranslationError(f"--diffaugment: {config.model} does not apply DiffAugment (it has no "
                               "discriminator that uses it); leave the option out")
    if config.spectral_norm and not any(c.spectral_norm for c in family.discriminator_configs.values()):
        raise TranslationError(f"--spectral-norm: {config.model} builds no discriminator from --netD; leave the "
                               "option out")


def _reference_export_flags(config) -> str:
    """The ``translation export`` flags a reference-layout file of this generator needs."""
    flags = ["--residual"] if config.residual else []
    if config.norm == "none":  # no norm leaves no keys, which also reads as instance norm
        flags.append("--norm none")
    return " ".join(flags)


# ------------------------------------------------------------------------------------ data

def build_data(config: TrainConfig) -> TrainingData:
    """The family's data for the task (the layout found and checked before anything trains)."""
    return get_family(config.model).build_data(config, get_task(config.task or CUSTOM))


# ------------------------------------------------------------------------------------ helpers

def _seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _linear_decay(epochs: int, epochs_decay: int) -> Callable[[int], float]:
    """The papers' schedule: 1 for ``epochs`` epochs, then linearly towards 0 over ``epochs_decay``."""
    def factor(epoch: int) -> float:
        return 1.0 - max(0, epoch + 1 - epochs) / float(epochs_decay + 1)
    return factor


def _cpu_state(net: torch.nn.Module) -> dict[str, torch.Tensor]:
    # contiguous: channels_last weights saved as such would load fine, but plain tensors are the convention
    return {k: v.detach().cpu().contiguous() for k, v in net.state_dict().items()}


def _info(config: TrainConfig, data: TrainingData, step: int, completed_epochs: int, wall: float,
          losses: dict[str, float], scores: dict[str, float]) -> dict[str, Any]:
    """What a checkpoint says about its run (and an export's metadata repeats)."""
    return {
        "model": config.model,
        "task": data.spec.name,
        "task_spec": data.spec.to_metadata(),
        "dataset": str(config.data),
        "layout": data.layout.kind,
        "direction": config.direction,
        "crop_size": config.crop_size,
        "steps": step,
        "epochs": completed_epochs,
        "wall_time_s": round(wall, 1),
        "losses": dict(losses),
        "validation": dict(scores),
    }


def _generators_payload(config: TrainConfig, family: Family, averages: dict[str, EMA],
                        networks: Iterable[str]) -> dict[str, Any]:
    """What every checkpoint holds (best.pt alone): generator configs, the weights of ``networks`` (the
    generators at least) and the averages."""
    payload = {
        "kind": CHECKPOINT_KIND,
        "version": 1,
        "model": config.model,
        "generators": {name: c.to_dict() for name, c in family.generator_configs.items()},
        "networks": {name: _cpu_state(family.networks[name]) for name in networks},
        "config": config.to_dict(),
    }
    if averages:
        payload["ema"] = {name: {"updates": a.updates, "weights": _cpu_state(a.module)} for name, a in averages.items()}
    return payload


def _checkpoint_payload(config: TrainConfig, family: Family, averages: dict[str, EMA], schedulers: dict, step: int,
                        epoch: int, position: int, ranks: list[dict[str, Any]], world_size: int,
                        info: dict[str, Any], best: dict[str, Any] | None) -> dict[str, Any]:
    return {
        **_generators_payload(config, family, averages, family.networks),
        "discriminators": {name: c.to_dict() for name, c in family.discriminator_configs.items()},
        "info": info,
        "step": step,
        "epoch": epoch,
        "data_order": {"seed": config.seed, "epoch": epoch, "batches_done": position,
                       "batch_size": config.batch_size, "world_size": world_size},
        "optimizers": {name: opt.state_dict() for name, opt in family.optimizers.items()},
        "schedulers": {name: s.state_dict() for name, s in schedulers.items()},
        "ranks": ranks,  # per process: RNG states, image pools, DiffAugment generators
        "best": best,
    }


def _restore(checkpoint: dict[str, Any], family: Family, schedulers: dict, averages: dict[str, EMA],
             runtime: distributed.Runtime) -> tuple[int, int, int, float]:
    for name, net in family.networks.items():
        net.load_state_dict(checkpoint["networks"][name])
    for name, average in averages.items():
        average.load_state_dict(checkpoint["ema"][name])
    for name, opt in family.optimizers.items():
        opt.load_state_dict(checkpoint["optimizers"][name])
    for name, scheduler in schedulers.items():
        scheduler.load_state_dict(checkpoint["schedulers"][name])
    order = checkpoint["data_order"]
    position = order["batches_done"]
    ranks = checkpoint["ranks"]
    if len(ranks) != runtime.world_size:
        log.warning("the checkpoint was written by %d process(es), this run has %d: the data order and random "
                    "state continue approximately, not exactly", len(ranks), runtime.world_size)
        position = position * len(ranks) // runtime.world_size
    if runtime.rank < len(ranks):
        set_rng_state(ranks[runtime.rank]["rng"], runtime.device)
        family.load_rank_state(ranks[runtime.rank])
    return checkpoint["step"], checkpoint["epoch"], position, float(checkpoint["info"].get("wall_time_s", 0.0))
