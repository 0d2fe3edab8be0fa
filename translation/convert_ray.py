"""Batch conversion on a Ray cluster: the same jobs, outputs and errors as ``translation.convert``.

The driver lists the inputs once and plans the outputs (``plan_jobs``: mirrored tree, skip-existing,
never over an input). The planned (source, output) paths become a Ray Dataset; ``map_batches`` hands
batches of them to a fixed pool of actors, each of which opens the model once (``Translator``) and
converts its batch with the local pipeline (``run_jobs``: decode and encode threads around inference,
atomic writes, one error per bad file). Pixels never travel through Ray: actors read inputs and write
outputs themselves, so inputs and outputs must lie where every node sees them at the same path (a
shared filesystem). The driver receives one small row per file (status and reason) and streams them
into the summary and the progress bar; nothing else comes back.

Ray restarts an actor that dies (a killed process, a lost node) and retries its batch: outputs the
dead actor had already renamed into place are found there and left alone, its temp files are
removed when the run ends, so every output is written once.

Ray is an optional dependency: ``pip install 'translation[ray]'``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .convert import (ConvertOptions, ConvertSummary, Job, ResultCallback, cpu_lanes, plan_jobs,
                      remove_stale_temp_files, run_jobs)
from .errors import TranslationError, first_line
from .runtime.models import ModelInfo, resolve_model

log = logging.getLogger(__name__)

# Files per actor call: about BATCHES_PER_ACTOR calls per actor, from MIN to MAX files each. Each call
# drains the actor's decode -> infer -> encode pipeline once (~0.1 s of idle inference), so a 200-photo run
# on one actor pays 4 drains instead of 25; four batches per actor still balance the pool, a batch retried
# after a crash skips the outputs already written, and the progress bar moves at least every MAX files.
MIN_FILES_PER_BATCH, MAX_FILES_PER_BATCH, BATCHES_PER_ACTOR = 8, 64, 4
DEFAULT_ACTOR_THREADS = 2    # inference threads per CPU actor (and the CPUs it reserves)
INSTALL_HINT = "Ray is not installed; pip install 'translation[ray]' (or ray[data]) to convert on a Ray cluster"


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None          # None: the cluster in $RAY_ADDRESS or a running local one, else start one
    actors: int | None = None           # None: as many as the cluster's CPUs (or GPUs) allow
    threads: int | None = None          # inference threads per actor (CPU); None: DEFAULT_ACTOR_THREADS
    device: str = "auto"                # "auto" (GPU actors when the cluster has GPUs), "cpu" or "cuda"
    files_per_batch: int | None = None  # None: files_per_batch(jobs, actors)


def _import_ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise TranslationError(INSTALL_HINT) from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Use the Ray instance this process is connected to, or connect (``address``) / start one for the run."""
    ray = _import_ray()
    if ray.is_initialized():
        yield
        return
    try:
        # no dashboard for an instance started for this run (Ray ignores it when joining a cluster): its
        # processes took a share of a small machine's cores
        ray.init(address=address, logging_level=logging.WARNING, include_dashboard=False)
    except Exception as exc:  # noqa: BLE001 - connection errors come in many types
        raise TranslationError(f"cannot connect to the Ray cluster at {address or 'the default address'} "
                               f"({first_line(exc, 200)})") from None
    try:
        yield
    finally:
        ray.shutdown()


class Translator:
    """One Ray actor: the model opened once, then batches of (source, output) paths converted locally."""

    def __init__(self, model: ModelInfo, options: ConvertOptions, providers: str | None, threads: int) -> None:
        from .runtime.engine import Engine

        # on the CPU, the images of a batch go through two lanes, as in a local run (translation.convert)
        lanes = cpu_lanes(threads) if providers == "cpu" else 1
        # no warm-up run: the first image does that work itself
        self.engine = Engine(model, providers=providers, threads=max(1, threads // lanes), warmup=False,
                             spinning=False)
        self.options = dataclasses.replace(options, lanes=lanes)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        jobs = [Job(Path(str(source)), Path(str(output))) for source, output in zip(batch["source"], batch["output"])]
        results: dict[Job, tuple[str, str]] = {}
        # The driver planned only missing outputs; one that exists now was renamed into place by this
        # batch's first actor before it died (Ray retries the batch): it is done, and stays as it is.
        todo = []
        for job in jobs:
            if not self.options.overwrite and job.output.is_file():
                results[job] = ("converted", "")
            else:
                todo.append(job)
        run_jobs(todo, self.engine, self.options,
                 lambda job, status, reason: results.__setitem__(job, (status, reason or "")))
        return {"source": batch["source"], "output": batch["output"],
                "status": np.array([results[job][0] for job in jobs]),
                "reason": np.array([results[job][1] for job in jobs])}


def _actor_resources(ray, options: RayOptions) -> tuple[dict, int, str | None, int]:
    """(map_batches resources per actor, number of actors, ONNX Runtime providers, threads per actor)."""
    device = options.device
    cluster = ray.cluster_resources()
    if device == "auto":
        device = "cuda" if cluster.get("GPU", 0) >= 1 else "cpu"
    threads = int(options.threads or DEFAULT_ACTOR_THREADS)
    if threads < 1:
        raise TranslationError(f"threads per actor must be at least 1, got {threads}")
    if device == "cuda":
        resources, providers, fits = {"num_gpus": 1, "num_cpus": 1}, "cuda,cpu", int(cluster.get("GPU", 0))
    elif device == "cpu":
        resources, providers, fits = {"num_cpus": threads}, "cpu", int(cluster.get("CPU", 0) // threads)
    else:
        raise TranslationError(f"unknown device {options.device!r}; choose auto, cpu or cuda")
    actors = int(options.actors or max(1, fits))
    if actors < 1:
        raise TranslationError(f"the number of actors must be at least 1, got {actors}")
    return resources, actors, providers, threads


def files_per_batch(jobs: int, actors: int) -> int:
    """Files per actor call for ``jobs`` files on ``actors`` actors (see BATCHES_PER_ACTOR)."""
    per_actor_call = math.ceil(jobs / (max(1, actors) * BATCHES_PER_ACTOR))
    return min(MAX_FILES_PER_BATCH, max(MIN_FILES_PER_BATCH, per_actor_call))


def run_jobs_on_ray(jobs: Sequence[Job], model: ModelInfo, options: ConvertOptions = ConvertOptions(),
                    ray_options: RayOptions = RayOptions(), on_result: ResultCallback | None = None) -> ConvertSummary:
    """Convert planned ``jobs`` on the Ray instance this process is connected to (see ``ray_session``)."""
    ray = _import_ray()
    summary = ConvertSummary()
    started = time.perf_counter()
    if not jobs:
        return summary
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False          # ours (on_result) counts files, not blocks
    context.print_on_execution_start = False
    resources, actors, providers, threads = _actor_resources(ray, ray_options)
    by_source = {(str(job.source), str(job.output)): job for job in jobs}
    per_batch = max(1, int(ray_options.files_per_batch or files_per_batch(len(jobs), actors)))
    batches = math.ceil(len(jobs) / per_batch)
    actors = min(actors, batches)   # more would wait for work that never comes
    dataset = ray.data.from_items([{"source": str(job.source), "output": str(job.output)} for job in jobs],
                                  override_num_blocks=batches)
    results = dataset.map_batches(
        Translator, fn_constructor_args=(model, options, providers, threads), batch_size=per_batch,
        batch_format="numpy", compute=ray.data.ActorPoolStrategy(size=actors), **resources)
    log.info("%d image(s) on %d Ray actor(s), %s each", len(jobs), actors,
             "1 GPU" if "num_gpus" in resources else f"{threads} CPU thread(s)")
    try:
        for batch in results.iter_batches(batch_size=None, batch_format="numpy"):
            for source, output, status, reason in zip(batch["source"], batch["output"], batch["status"],
                                                      batch["reason"]):
                job = by_source[(str(source), str(output))]
                if status == "converted":
                    summary.converted += 1
                else:
                    summary.failed += 1
                    summary.failures.append((job.source, str(reason)))
                if on_result is not None:
                    on_result(job, str(status), str(reason) if status == "failed" else None)
    except TranslationError:
        raise
    except Exception as exc:  # noqa: BLE001 - Ray wraps actor failures in its own exception types
        raise TranslationError(f"the Ray conversion stopped: {first_line(exc, 300)}") from None
    finally:
        summary.seconds = time.perf_counter() - started
    remove_stale_temp_files(jobs)   # every actor is done: temp files left are those of actors that died
    return summary


def convert_on_ray(inputs: Sequence[str | Path], out_dir: str | Path, model: ModelInfo | str | Path,
                   options: ConvertOptions = ConvertOptions(), ray_options: RayOptions = RayOptions(),
                   on_result: ResultCallback | None = None) -> ConvertSummary:
    """``convert`` on a Ray cluster: files and folders into ``out_dir`` (mirrored), resumable, atomic.

    Connects to ``ray_options.address`` (or uses the instance this process already joined); the
    model is opened by each actor, so its file, the inputs and ``out_dir`` must be visible to every node.
    """
    info = model if isinstance(model, ModelInfo) else resolve_model(model)
    plan = plan_jobs(inputs, out_dir, model=info.name, task=info.task.name, options=options)
    remove_stale_temp_files(plan.todo)
    with ray_session(ray_options.address):
        summary = run_jobs_on_ray(plan.todo, info, options, ray_options, on_result)
    summary.skipped += len(plan.done)
    for path, reason in plan.missing:
        summary.failed += 1
        summary.failures.append((path, reason))
    return summary
