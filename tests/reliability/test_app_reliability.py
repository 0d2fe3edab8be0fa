"""The web app under bad uploads, forged requests and load: readable errors, bounded memory, nothing leaks.

One app for the module (a tiny model set, a small queue and upload limit), driven through its API with
gradio_client and plain HTTP on 127.0.0.1, then stopped with SIGTERM as a service manager would.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import signal
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import httpx
import numpy as np
import psutil
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from gradio_client.utils import QueueError

from corpus import checksums, no_traceback, photo, run_app, tiny_models, write_corpus, write_test_image  # noqa: F401
from translation.imaging.io import read_image, write_image

pytestmark = pytest.mark.slow

MAX_FILE_SIZE = 200 * 1024
QUEUE_SIZE = 4
CLIENTS, REQUESTS_EACH = 20, 5
REQUEST_TIMEOUT = 90


@pytest.fixture(scope="module")
def app(tiny_models, tmp_path_factory):  # noqa: F811
    # gradio_client downloads each result through a folder it leaves in the temp dir: keep them here
    scratch = tmp_path_factory.mktemp("client-scratch")
    saved, tempfile.tempdir = tempfile.tempdir, str(scratch)
    try:
        with run_app(tiny_models, tmp_path_factory.mktemp("app-reliability"), "--queue-size", str(QUEUE_SIZE),
                     "--max-file-size", "200KB") as running:
            yield running
    finally:
        tempfile.tempdir = saved


def new_client(app, downloads: Path) -> Client:
    return Client(app.url, verbose=False, download_files=str(downloads), httpx_kwargs={"timeout": REQUEST_TIMEOUT})


def colorize(client: Client, path: Path):
    job = client.submit(handle_file(str(path)), "colorization", 0, "png", api_name="/colorize")
    return job.result(timeout=REQUEST_TIMEOUT)


def live_redraw(client: Client, drawing: Path):
    """A sketchpad drawing through the live endpoint, as the page sends one on each stroke."""
    job = client.submit({"background": None, "layers": [], "composite": handle_file(str(drawing))}, True,
                        "sketch-to-photo", 0, "png", api_name="/sketch_drawing_to_photo_live")
    return job.result(timeout=REQUEST_TIMEOUT)


def app_log(app) -> str:
    return (app.temp_root / "app.log").read_text(errors="replace")


# ------------------------------------------------------------------------------------ bad uploads

def test_every_corpus_item_is_translated_or_refused_readably(app, tmp_path):
    source = tmp_path / "corpus"
    items = write_corpus(source)
    before = checksums(source)
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    client = new_client(app, tmp_path / "downloads")
    log_start = len(app_log(app))
    for item in items:
        # A browser sends a file name as Unicode: bytes that are not UTF-8 arrive as their Latin-1 reading.
        name = item.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        if "\ufffd" in name:
            name = item.name.encode("utf-8", "surrogateescape").decode("latin-1")
        upload = uploads / name
        shutil.copyfile(source / item.name, upload)
        if item.good:
            (before_after, download, summary) = colorize(client, upload)
            output = read_image(download)
            assert (output.width, output.height) == item.size, name
            assert all(read_image(p).rgb.shape[:2] == (item.size[1], item.size[0]) for p in before_after), name
            raw = cv2.imdecode(np.frombuffer(Path(download).read_bytes(), np.uint8), cv2.IMREAD_UNCHANGED)
            assert raw.dtype == (np.uint16 if item.sixteen_bit else np.uint8), name
            assert (output.alpha is not None) == item.alpha, name
        else:
            with pytest.raises(AppError) as caught:
                colorize(client, upload)
            message = str(caught.value)
            assert message.startswith(f"{name}: ") and item.reason in message.lower(), message
            assert "Traceback" not in message and "/tmp" not in message and str(app.temp_root) not in message
    # and it serves normally after all that, without a traceback in its log for any of these files
    assert read_image(colorize(client, uploads / "png_named.jpg")[1]).rgb.shape == (28, 36, 3)
    no_traceback(app_log(app)[log_start:])
    assert checksums(source) == before


# ------------------------------------------------------------------------------------ security

def test_listens_on_loopback_only_by_default(app):
    # run_app passes no --host: this is the default
    listening = [c.laddr for c in psutil.Process(app.process.pid).net_connections("inet")
                 if c.status == psutil.CONN_LISTEN]
    assert listening and all(address.ip == "127.0.0.1" for address in listening), listening


def test_upload_size_limit_is_enforced_without_reading_it_all(app):
    upload = f"{app.url}gradio_api/upload"
    accepted = httpx.post(upload, files={"files": ("fits.png", os.urandom(150_000), "image/png")}, timeout=30)
    assert accepted.status_code == 200
    (stored,) = accepted.json()
    assert (app.workspaces()[0] / "gradio") in Path(stored).parents   # uploads land in the app's own folder

    process = psutil.Process(app.process.pid)
    rss_before = process.memory_info().rss
    for size in (MAX_FILE_SIZE + 50_000, 50 * 1024 * 1024):
        started = time.monotonic()
        refused = httpx.post(upload, files={"files": ("big.png", b"\0" * size, "image/png")}, timeout=60)
        assert refused.status_code == 413
        assert f"File size exceeded maximum allowed size of {MAX_FILE_SIZE} bytes" in refused.text
        assert time.monotonic() - started < 30
    assert process.memory_info().rss - rss_before < 40 * 1024 * 1024   # the 50 MB body was not kept
    assert not [p for p in app.workspaces()[0].rglob("*") if p.is_file() and p.stat().st_size > MAX_FILE_SIZE]


def _call(app, api_name: str, data: list) -> str:
    """A raw API call (what a hand-made request sends): the event stream's text."""
    with httpx.Client(base_url=app.url, timeout=REQUEST_TIMEOUT) as http:
        posted = http.post(f"gradio_api/call/{api_name}", json={"data": data})
        if posted.status_code != 200:
            return f"refused {posted.status_code}: {posted.text}"
        return http.get(f"gradio_api/call/{api_name}/{posted.json()['event_id']}").text


def test_request_paths_cannot_reach_outside_the_workspace(app, tiny_models, tmp_path):  # noqa: F811
    secret = write_image(tmp_path / "outside" / "secret.png", photo(32, 32, 9))
    secret_sum = hashlib.sha256(secret.read_bytes()).hexdigest()
    (workspace,) = app.workspaces()
    outside_before = {p for p in app.temp_root.rglob("*") if workspace not in p.parents and p != workspace}

    # file payloads naming server paths are refused, whatever the handler would do with them
    for target in (secret, Path("/etc/passwd"), tiny_models / "colorization.onnx", workspace / ".." / "app.log"):
        stream = _call(app, "colorize", [{"path": str(target), "meta": {"_type": "gradio.FileData"},
                                          "orig_name": "x.png"}, "colorization", 0, "png", 1.0])
        assert "event: complete" not in stream and "root:" not in stream, stream
    assert not [p for p in workspace.rglob("*") if p.is_file()
                and hashlib.sha256(p.read_bytes()).hexdigest() == secret_sum], "the secret was copied in"

    # the file route serves nothing outside the app's folders, however the path is spelled
    for spelling in ("/etc/passwd", "../../../../etc/passwd", "..%2F..%2F..%2F..%2Fetc%2Fpasswd", str(secret),
                     urllib.parse.quote(str(secret)), str(workspace / ".." / "app.log")):
        response = httpx.get(f"{app.url}gradio_api/file={spelling}", timeout=30)
        assert response.status_code in (400, 403, 404), spelling
        assert "root:" not in response.text and "INFO" not in response.text, spelling

    # an upload named to climb out stays in: Gradio keeps the base name, the app its safe stem
    uploaded = httpx.post(f"{app.url}gradio_api/upload", timeout=30,
                          files={"files": ("../../../escape.png", secret.read_bytes(), "image/png")}).json()[0]
    assert workspace in Path(uploaded).resolve().parents
    stream = _call(app, "colorize", [{"path": uploaded, "meta": {"_type": "gradio.FileData"},
                                      "orig_name": "../../../../escape"}, "colorization", 0, "png", 1.0])
    assert "event: complete" in stream, stream
    written = [p for p in (workspace / "outputs").rglob("*") if p.is_file() and "escape" in p.name]
    assert [p.name for p in written] == ["escape-colorization.png"]
    outside_after = {p for p in app.temp_root.rglob("*") if workspace not in p.parents and p != workspace}
    assert outside_after == outside_before, "the app wrote outside its folder"


# ------------------------------------------------------------------------------------ load

@pytest.mark.timeout(300)
def test_twenty_clients_at_once(app, tmp_path):
    image = write_test_image(tmp_path / "photo64.png", 64, 64)
    strokes = np.zeros((64, 64, 4), np.uint8)
    strokes[20:24, 8:56, 3] = 255
    drawing = write_image(tmp_path / "drawing64.png", strokes)
    process = psutil.Process(app.process.pid)
    rss_before = process.memory_info().rss
    peak, stop = [rss_before], threading.Event()
    log_start = len(app_log(app))

    def sample_memory() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            stop.wait(0.05)

    def one_client(index: int) -> list[tuple[str, str]]:
        client = new_client(app, tmp_path / f"downloads-{index}")
        outcomes = []
        for _ in range(REQUESTS_EACH):
            try:   # every fourth client draws: the live sketch endpoint shares the queue
                _, download, _ = live_redraw(client, drawing) if index % 4 == 0 else colorize(client, image)
                shape = read_image(download).rgb.shape
                outcomes.append(("ok", "") if shape == (64, 64, 3) else ("wrong size", str(shape)))
            except QueueError as exc:
                outcomes.append(("queue full", str(exc)))
            except Exception as exc:  # noqa: BLE001 - anything else is what this test looks for
                outcomes.append((type(exc).__name__, str(exc)))
        return outcomes

    sampler = threading.Thread(target=sample_memory)
    sampler.start()
    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            outcomes = [o for per_client in pool.map(one_client, range(CLIENTS)) for o in per_client]
    finally:
        stop.set()
        sampler.join()

    kinds = Counter(kind for kind, _ in outcomes)
    assert len(outcomes) == CLIENTS * REQUESTS_EACH
    assert set(kinds) <= {"ok", "queue full"}, [o for o in outcomes if o[0] not in ("ok", "queue full")][:5]
    assert kinds["ok"] >= 10, kinds               # the queue turned some away, not (nearly) all
    assert all("queue is full" in message.lower() for kind, message in outcomes if kind == "queue full")
    assert peak[0] < 1.5e9, f"peak RSS {peak[0] / 1e6:.0f} MB"
    assert process.memory_info().rss - rss_before < 300e6, "memory grew by more than 300 MB"
    assert app_log(app)[log_start:].count("live redraw: ") >= 5, "the drawing clients were served too"
    # served normally afterwards
    client = new_client(app, tmp_path / "downloads-after")
    assert read_image(colorize(client, image)[1]).rgb.shape == (64, 64, 3)
    no_traceback(app_log(app)[log_start:])


# ------------------------------------------------------------------------------------ the end

def test_sigterm_stops_it_and_removes_its_folder(app):
    (workspace,) = app.workspaces()
    assert (workspace / "outputs").is_dir() and (workspace / "gradio").is_dir()
    app.process.send_signal(signal.SIGTERM)
    assert app.process.wait(timeout=30) == 0
    assert not workspace.exists()
    leftovers = [p.name for p in app.temp_root.iterdir() if p.name != "app.log"]
    assert leftovers == [], f"the app left {leftovers} in its TMPDIR"
