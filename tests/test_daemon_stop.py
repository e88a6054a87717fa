"""A daemon that stops leaves nothing running: of the review page it opened, no thread, no exiftool process and no
link that still opens the page, and a choice being written when it stops is written whole (the sidecar and the
catalog); a watched folder's batch and a taste profile's training end at their next photo, a video being judged at
its next second, and run at the next start; a request in flight is answered (503 stopping) once its photo being
written is written, and `keepers serve` ends at once; no catalog connection stays open. A review that cannot open
leaves none of its threads."""

from __future__ import annotations

import http.cookiejar
import json
import os
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from helpers import exiftool_json
from keepers.core.settings import DaemonSettings, Settings
from keepers.sidecar import auth
from keepers.sidecar.app import Daemon
from keepers.sidecar.client import Client
from keepers.sidecar.server import Server


def _exiftool_children() -> set[int]:
    """The exiftool processes this process started (the daemon runs in this test process)."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            comm, rest = stat.read_text().rsplit(")", 1)
        except OSError:  # ended while listed
            continue
        if "exiftool" in comm and int(rest.split()[1]) == os.getpid():
            found.add(int(stat.parent.name))
    return found


def _keepers_threads(before: set) -> list[str]:
    return sorted(t.name for t in threading.enumerate() if t not in before and t.name.startswith("keepers-")
                  and t.is_alive())


def _wait_analysed(catalog, n: int, state, timeout: float = 60) -> None:
    """Wait until `n` photos of `catalog` are analysed; `state()` says what the daemon was doing if they never are."""
    end = time.monotonic() + timeout
    while _analysed(catalog) < n:
        assert time.monotonic() < end, state()
        time.sleep(0.05)


def _timed(stop) -> float:
    t0 = time.monotonic()
    stop()
    return time.monotonic() - t0


def _analysed(catalog: Path) -> int:
    return _query(catalog, "SELECT count(*) FROM photos WHERE analyzed_at IS NOT NULL")[0]


def _query(catalog: Path, sql: str, *args) -> tuple | None:
    """One row, through the catalog's own SQLite library: the standard library's, a second SQLite in this process,
    read none of the photos a running watcher had committed (its locks are not the other library's)."""
    from keepers.core.io.catalog import Catalog

    c = Catalog(catalog)
    try:
        row = c.db.execute(sql, args).fetchone()
        return None if row is None else tuple(row)
    finally:
        c.close()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="counts processes through /proc")
def test_a_stopping_daemon_writes_the_choice_in_flight_then_leaves_no_thread_process_or_link_of_its_review(tmp_path):
    threads_before, exiftools_before = set(threading.enumerate()), _exiftool_children()
    settings = Settings(catalog=tmp_path / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    server = Server(daemon, host="127.0.0.1", port=0).start()
    stopped = False
    try:
        _, _, key = auth.create_app(daemon.store, "alpha", [str(tmp_path / "library")])
        c = Client(server.url, key)
        shoot = _written_shoot(tmp_path, c)
        opened = c.post("/v1/review", {"paths": [str(shoot)]})
        assert opened.status == 200, opened
        url = opened.json()["url"]
        token = url.split("token=", 1)[1]
        page = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page.open(url, timeout=30).close()  # the link's token becomes the page's cookie
        with page.open(server.url + "/review/api/photos", timeout=30) as r:
            photos = json.loads(r.read())["photos"]
        with page.open(server.url + f"/review/img/{photos[0]['id']}/thumb", timeout=30) as r:  # a preview made
            assert r.status == 200
        chosen = next(p for p in photos if p["rating"] != 5)

        # the page's writer is held up, so that the stop comes while the choice is being written
        review = server.app.config["KEEPERS_REVIEW"]
        held, gate = threading.Event(), threading.Event()
        review._writer.submit(lambda: (held.set(), gate.wait()))
        assert held.wait(10)
        change = urllib.request.Request(server.url + f"/review/api/photos/{chosen['id']}", method="POST",
                                        data=json.dumps({"rating": 5}).encode(),
                                        headers={"Content-Type": "application/json", "X-Keepers-CSRF": token})

        def choose() -> None:
            try:
                page.open(change, timeout=30).close()
            except (urllib.error.URLError, ConnectionError):  # the server stopped before it answered
                pass

        chooser = threading.Thread(target=choose)
        chooser.start()
        end = time.monotonic() + 10
        while review._writer._work_queue.qsize() < 1:  # the choice's write waits behind the held one
            assert time.monotonic() < end, "the choice never reached the page's writer"
            time.sleep(0.01)
        stopper = threading.Thread(target=server.stop)
        stopper.start()
        time.sleep(0.5)
        gate.set()
        stopper.join(timeout=30)
        chooser.join(timeout=30)
        assert not stopper.is_alive(), "the server did not stop"
        stopped = True

        sidecar = review.items[chosen["id"]].target
        assert exiftool_json(sidecar, tags=("-XMP-xmp:Rating",))[0].get("Rating") == 5
        assert _query(settings.catalog, "SELECT rating FROM review_choices WHERE photo_id = ?", chosen["id"]) == (5,)
        assert _keepers_threads(threads_before) == []
        assert _exiftool_children() <= exiftools_before
        again = server.app.test_client().get(f"/review/?token={token}", headers={"Host": "127.0.0.1"})
        assert again.status_code == 404  # the link opens nothing: no review runs
    finally:
        if not stopped:
            server.stop()


def test_a_watcher_stopped_mid_batch_ends_at_the_next_photo_and_queues_the_rest_again(tmp_path):
    from conftest import sample_rgb
    from keepers.core.io.catalog import Catalog
    from keepers.sidecar.engine import Engine
    from keepers.sidecar.store import Store
    from keepers.sidecar.watch import Watcher

    folder = tmp_path / "import"
    folder.mkdir()
    src = sample_rgb("coffee")
    n = 24
    for i in range(n):  # photos that arrived while the daemon was down: the start's scan queues them as one batch
        Image.fromarray(src[i * 4:i * 4 + 300, i * 8:i * 8 + 400]).save(folder / f"IMG_{i:04d}.jpg", quality=90)
    catalog = tmp_path / "catalog.db"
    Catalog(catalog).close()  # made here, not while the watcher makes it
    store = Store(tmp_path / "daemon.db")
    watcher = Watcher([str(folder)], Engine(Settings(catalog=catalog, workers=1), store), settle_s=0.0, batch=64,
                      poll_s=0.05)
    watcher.start()
    try:
        _wait_analysed(catalog, 2, store.queue_counts)  # in the middle of the batch
    finally:
        took = _timed(watcher.stop)
    print(f"\nstopped {took:.2f} s after it was asked, {_analysed(catalog)} of {n} photos analysed")
    assert [t.name for t in watcher._threads if t.is_alive()] == []
    assert store.queue_counts() == {"queued": n}  # none failed, none lost: the next start runs them, first
    assert _analysed(catalog) < n


def test_a_daemon_stopped_while_a_taste_profile_trains_ends_it_at_the_next_photo_and_trains_it_at_the_next_start(
        tmp_path):
    from conftest import sample_rgb

    lib = tmp_path / "shoot"
    lib.mkdir()
    src = sample_rgb("astronaut")
    n = 30
    for i in range(n):  # photos never analysed: training reads each of them first
        Image.fromarray(src[i * 6:i * 6 + 300, i * 5:i * 5 + 400]).save(lib / f"p{i:02d}.jpg", quality=90)
    csv = "preferred,other\n" + "".join(f"p{i:02d}.jpg,p{i + 1:02d}.jpg\n" for i in range(n - 1))
    settings = Settings(catalog=tmp_path / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    server = Server(daemon, host="127.0.0.1", port=0).start()
    try:
        _, _, key = auth.create_app(daemon.store, "lr", [str(lib)])
        made = Client(server.url, key).post("/v1/taste/profiles/p/choices", {"csv": csv, "base": str(lib)})
        assert made.status == 202, made
        _wait_analysed(settings.catalog, 2,  # in the middle of the training's photos
                       lambda: daemon.store.one("SELECT state FROM taste_profiles")[0])
    finally:
        took = _timed(server.stop)
    print(f"\nstopped {took:.2f} s after it was asked, {_analysed(settings.catalog)} of {n} photos analysed")
    assert not daemon.trainer._thread.is_alive()
    assert _analysed(settings.catalog) < n
    daemon.store.close()
    again = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    try:
        end = time.monotonic() + 120
        while (row := again.store.one("SELECT state, error FROM taste_profiles WHERE name = 'p'"))[0] != "trained":
            assert row[0] in ("queued", "retraining") and time.monotonic() < end, tuple(row)
            time.sleep(0.1)
    finally:
        again.close()
        again.store.close()


def _written_shoot(tmp_path, c: Client, names=("chelsea", "coffee")) -> Path:
    """A folder of real photos (`names`, or those already in it) that a daemon's job has judged and written (what
    a review opens on)."""
    from conftest import sample_rgb

    shoot = tmp_path / "library" / "shoot"
    shoot.mkdir(parents=True, exist_ok=True)
    for name in names:
        Image.fromarray(sample_rgb(name)).save(shoot / f"{name}.jpg", quality=90)
    job = c.post("/v1/jobs", {"paths": [str(shoot)], "write": True}).json()
    end = time.monotonic() + 60
    while (job := c.get(f"/v1/jobs/{job['id']}").json())["state"] in ("queued", "running"):
        assert time.monotonic() < end, job
        time.sleep(0.1)
    assert job["state"] == "done", job
    return shoot


def test_a_review_that_cannot_open_leaves_no_preview_or_writer_thread_running(tmp_path, monkeypatch):
    settings = Settings(catalog=tmp_path / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    server = Server(daemon, host="127.0.0.1", port=0).start()
    try:
        _, _, key = auth.create_app(daemon.store, "alpha", [str(tmp_path / "library")])
        c = Client(server.url, key)
        shoot = _written_shoot(tmp_path, c)
        # a sidecar Python cannot parse is asked of exiftool, which this machine has lost: the review fails to open
        (shoot / "chelsea.jpg.xmp").write_bytes(b"<x:xmpmeta><rdf:RDF>damaged")
        threads_before = set(threading.enumerate())
        monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
        opened = c.post("/v1/review", {"paths": [str(shoot)]})
        assert opened.status >= 400, opened
        end = time.monotonic() + 5  # a thread that ends says so a moment after
        while _keepers_threads(threads_before) and time.monotonic() < end:
            time.sleep(0.05)
        assert _keepers_threads(threads_before) == []
    finally:
        monkeypatch.undo()
        server.stop()


def test_a_daemon_stopped_while_a_job_and_a_watched_folder_judge_videos_ends_both_at_the_next_second(tmp_path):
    av = pytest.importorskip("av", reason="PyAV is not installed (pip install av)")
    from conftest import sample_rgb

    lib, watched = tmp_path / "library", tmp_path / "import"
    lib.mkdir()
    watched.mkdir()
    stills = [np.asarray(Image.fromarray(sample_rgb(n)).resize((320, 240))) for n in ("astronaut", "coffee", "rocket")]
    clip = lib / "clip.mp4"
    with av.open(str(clip), "w") as out:  # two minutes at a frame a second: 120 seconds to judge
        stream = out.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        for i in range(120):
            frame = np.roll(stills[i % 3], i, axis=1)
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    (watched / "clip.mp4").write_bytes(clip.read_bytes())
    settings = Settings(catalog=tmp_path / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False, watch=[watched], settle_s=0.0))
    server = Server(daemon, host="127.0.0.1", port=0).start()
    try:
        _, _, key = auth.create_app(daemon.store, "alpha", [str(lib)])
        job = Client(server.url, key).post("/v1/jobs", {"paths": [str(lib)], "write": True}).json()
        end = time.monotonic() + 30
        while (daemon.jobs.get(job["id"])["state"], daemon.store.queue_counts()) != ("running", {"running": 1}):
            assert time.monotonic() < end, (daemon.jobs.get(job["id"]), daemon.store.queue_counts())
            time.sleep(0.05)
        time.sleep(1.0)  # both clips some seconds in
    finally:
        took = _timed(server.stop)
    print(f"\nstopped {took:.2f} s after it was asked")
    assert not daemon.jobs._thread.is_alive() and [t for t in daemon.watcher._threads if t.is_alive()] == []
    assert took < 3
    assert daemon.jobs.get(job["id"])["state"] == "queued"  # both run again at the next start
    assert daemon.store.queue_counts() == {"queued": 1}
    assert not (lib / "clip.mp4.xmp").exists() and not (watched / "clip.mp4.xmp").exists()  # nothing half-judged


def test_keepers_serve_stopped_by_sigterm_in_the_middle_of_a_predict_answers_it_and_ends_at_once(tmp_path):
    import signal
    import subprocess

    from conftest import sample_rgb
    from helpers import KEEPERS, isolated_env
    from keepers.core.io.catalog import Catalog
    from keepers.sidecar.store import Store

    lib = tmp_path / "library"
    lib.mkdir()
    src = sample_rgb("astronaut")
    photos = [lib / f"p{i:03d}.jpg" for i in range(100)]  # a predict of 100 photos: 10 s and more here
    for i, p in enumerate(photos):
        Image.fromarray(src[i % 20 * 6:i % 20 * 6 + 400, i // 20 * 5 + i % 20:i // 20 * 5 + i % 20 + 400]).save(p)
    catalog = tmp_path / "catalog.db"
    Catalog(catalog).close()
    store = Store(tmp_path / "daemon.db")
    _, _, key = auth.create_app(store, "alpha", [str(lib)])
    store.close()
    proc = subprocess.Popen([KEEPERS, "serve", "--port", "0", "--catalog", str(catalog), "--workers", "1"],
                            stderr=subprocess.PIPE, text=True, env=isolated_env(tmp_path))
    try:
        line, end = "", time.monotonic() + 60
        while "daemon on" not in line and time.monotonic() < end:
            line = proc.stderr.readline()
        assert "daemon on" in line, line
        answer = {}

        def ask() -> None:
            answer["r"] = Client(line.split("daemon on ")[1].split()[0], key).post(
                "/v1/predict", {"paths": [str(p) for p in photos], "write": True})

        asking = threading.Thread(target=ask)
        asking.start()
        _wait_analysed(catalog, 2, lambda: answer)  # in the middle of the request
        proc.send_signal(signal.SIGTERM)
        took = _timed(lambda: proc.wait(timeout=30))
        asking.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = proc.stderr.read()
    proc.stderr.close()
    print(f"\nended {took:.2f} s after SIGTERM, {_analysed(catalog)} of {len(photos)} photos analysed")
    assert proc.returncode == 0 and took < 3, log
    assert "r" in answer, "the request was never answered"
    assert (answer["r"].status, answer["r"].json()["error"]["code"]) == (503, "stopping")
    assert "Traceback" not in log and "still running" not in log, log
    # every photo analysed was written whole before the process ended: a sidecar that exiftool reads, no temp file
    written = sorted(lib.glob("*.xmp"))
    assert len(written) == _analysed(catalog) < len(photos)
    assert all(r.get("Rating") is not None for r in exiftool_json(*written, tags=("-XMP-xmp:Rating",)))
    assert sorted(lib.iterdir()) == sorted(photos + written)


def _open_files(under: Path) -> list[str]:
    """The files under `under` this process holds open (its file descriptors, /proc/self/fd)."""
    found = []
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:  # closed while listed (the listing's own descriptor among them)
            continue
        if target.startswith(str(under)):
            found.append(target)
    return sorted(found)


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files through /proc")
def test_a_stopped_daemon_closes_the_catalog_its_requests_opened_and_leaves_no_wal_file(tmp_path):
    from conftest import sample_rgb

    lib = tmp_path / "library"
    lib.mkdir()
    for name in ("chelsea", "coffee", "rocket", "astronaut"):
        Image.fromarray(sample_rgb(name)).save(lib / f"{name}.jpg", quality=90)
    settings = Settings(catalog=tmp_path / "data" / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False, store=tmp_path / "daemon.db"))
    server = Server(daemon, host="127.0.0.1", port=0).start()
    try:
        _, _, key = auth.create_app(daemon.store, "alpha", [str(lib)])
        answers = []

        def ask(photo: Path) -> None:  # at once, each on a request thread of its own, with a connection of its own
            answers.append(Client(server.url, key).post("/v1/predict", {"paths": [str(photo)]}).status)

        asking = [threading.Thread(target=ask, args=(p,)) for p in sorted(lib.iterdir())]
        for t in asking:
            t.start()
        for t in asking:
            t.join(timeout=60)
        assert answers == [200] * 4
        held = _open_files(settings.catalog.parent)
    finally:
        server.stop()
    print(f"\nwhile it ran: {len(held)} open files of the catalog; after the stop: "
          f"{_open_files(settings.catalog.parent)}, {sorted(p.name for p in settings.catalog.parent.iterdir())}")
    assert held  # (the count that would have been left)
    assert _open_files(settings.catalog.parent) == []
    assert sorted(p.name for p in settings.catalog.parent.iterdir()) == ["catalog.db"]  # no -wal or -shm left


def test_previews_waited_for_as_the_daemon_stops_are_refused_at_once_and_log_no_error(tmp_path, caplog):
    settings = Settings(catalog=tmp_path / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    server = Server(daemon, host="127.0.0.1", port=0).start()
    answers: dict[str, int] = {}
    gate, stopper = threading.Event(), threading.Thread(target=server.stop)
    try:
        _, _, key = auth.create_app(daemon.store, "alpha", [str(tmp_path / "library")])
        shoot = _written_shoot(tmp_path, Client(server.url, key))
        url = Client(server.url, key).post("/v1/review", {"paths": [str(shoot)]}).json()["url"]
        page = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        page.open(url, timeout=30).close()
        with page.open(server.url + "/review/api/photos", timeout=30) as r:
            wanted = [f"{p['id']}/{size}" for p in json.loads(r.read())["photos"] for size in ("loupe", "thumb")]
        # every preview thread busy (a large RAW's preview being made), so that the page's previews wait in the queue
        review = server.app.config["KEEPERS_REVIEW"]
        held = threading.Semaphore(0)

        def hold() -> None:
            held.release()
            gate.wait()

        busy = [review.previews.submit(("busy", i), 0, hold) for i in range(len(review.previews._threads))]
        assert all(held.acquire(timeout=10) for _ in busy)

        def fetch(what: str) -> None:
            try:
                with page.open(server.url + f"/review/img/{what}", timeout=30) as r:
                    answers[what] = r.status
            except urllib.error.HTTPError as e:
                answers[what] = e.code

        asking = [threading.Thread(target=fetch, args=(w,)) for w in wanted]
        for t in asking:
            t.start()
        end = time.monotonic() + 10
        while len(review.previews._jobs) < len(wanted):
            assert time.monotonic() < end, ("the previews never reached the queue", answers)
            time.sleep(0.01)
        stopper.start()
        time.sleep(0.3)
    finally:
        gate.set()
        if stopper.ident is None:  # failed before the stop
            server.stop()
        else:
            stopper.join(timeout=30)
    for t in asking:
        t.join(timeout=30)
    assert all(f.done() for f in busy) and not stopper.is_alive()
    assert answers == {w: 503 for w in wanted}  # answered at once, as the page shows it: the review has ended
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == []
