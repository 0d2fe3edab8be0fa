"""OpenCV's thread pool held at one thread while images or videos run through a model on the CPU.

There the model's threads already keep the cores busy and the pipelines' own threads (the batch
converter's decode and encode workers, the video pipeline's) overlap decoding, colour conversion and
encoding with it; OpenCV's pool, woken for every resize and colour conversion of a single picture, only
adds wake-ups and spinning (~0.5 ms of CPU a frame on 80x60 -> 320x240 super-resolution; 512x512
colorization converts ~7% faster without it). The setting is process-wide, so it is counted: the
first pipeline to start sets it and the last to finish puts back what was there.
"""
from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import cv2

_lock = threading.Lock()
_holders = 0
_saved_threads = 0


@contextlib.contextmanager
def single_threaded_opencv(enabled: bool = True) -> Iterator[None]:
    """OpenCV runs its functions in the calling thread inside the block (nothing changes if not ``enabled``)."""
    global _holders, _saved_threads
    if not enabled:
        yield
        return
    with _lock:
        if _holders == 0:
            _saved_threads = cv2.getNumThreads()
            cv2.setNumThreads(1)
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0:
                cv2.setNumThreads(_saved_threads)
