"""OpenCV's pool held at one thread while CPU pipelines (batch conversion, video) run, counted across them."""
from __future__ import annotations

import threading

import cv2
import pytest

from translation.runtime.opencv_threads import single_threaded_opencv


@pytest.fixture
def opencv_threads():
    before = cv2.getNumThreads()
    cv2.setNumThreads(2)
    yield
    cv2.setNumThreads(before)


def test_opencv_runs_single_threaded_inside_and_the_last_leaver_puts_it_back(opencv_threads):
    with single_threaded_opencv():
        assert cv2.getNumThreads() == 1
        entered, leave = threading.Event(), threading.Event()

        def another_pipeline() -> None:
            with single_threaded_opencv():
                entered.set()
                leave.wait(5)

        other = threading.Thread(target=another_pipeline)
        other.start()
        entered.wait(5)
    assert cv2.getNumThreads() == 1          # the other pipeline still runs
    leave.set()
    other.join()
    assert cv2.getNumThreads() == 2
    with pytest.raises(RuntimeError), single_threaded_opencv():
        raise RuntimeError("a failed run")
    assert cv2.getNumThreads() == 2
    with single_threaded_opencv(enabled=False):  # a GPU engine: the cores are free for OpenCV
        assert cv2.getNumThreads() == 2
