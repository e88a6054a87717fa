"""Watched folders: a burst of files is absorbed, a file is read only once completely written, and a daemon killed
with SIGKILL mid-batch, then restarted, ends with every photo analysed exactly once and no sidecar torn.

"Analysed" is counted by SQLite triggers the test adds to the catalog: one row each time a photo's analysis is
committed (photos.analyzed_at set), so an analysis lost in a crash before its commit does not count."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

# sqlite3: the catalog's own (pysqlite3 where installed): two SQLite libraries in one process do not see each
# other's locks (POSIX locks are per process), and the in-process watcher writes while these tests read
from keepers.core.io.catalog import Catalog, sqlite3
from keepers.core.settings import Settings
from keepers.sidecar.client import Client
from keepers.sidecar.engine import Engine
from keepers.sidecar.store import Store
from keepers.sidecar.watch import Watcher

KEEPERS = str(Path(sys.executable).with_name("keepers"))
BURST = int(os.environ.get("KEEPERS_TEST_BURST", "500"))  # 1000 takes ~40 s on 2 cores


def jpegs(n: int, size=(160, 120)) -> list[bytes]:
    """`n` different small JPEGs cut from a real photo."""
    from skimage import data

    src = data.coffee()  # 400 x 600
    out = []
    for i in range(n):
        y, x = (i * 7) % max(1, 400 - size[1]), (i * 13) % max(1, 600 - size[0])
        buf = io.BytesIO()
        Image.fromarray(src[y:y + size[1], x:x + size[0]]).save(buf, "JPEG", quality=80)
        out.append(buf.getvalue())
    return out


def count_analyses(catalog: Path) -> None:
    Catalog(catalog).close()  # the schema first
    db = sqlite3.connect(catalog)
    db.executescript("""
        CREATE TABLE analysis_log (path TEXT NOT NULL);
        CREATE TRIGGER log_insert AFTER INSERT ON photos WHEN NEW.analyzed_at IS NOT NULL
            BEGIN INSERT INTO analysis_log VALUES (NEW.path); END;
        CREATE TRIGGER log_update AFTER UPDATE OF analyzed_at ON photos WHEN NEW.analyzed_at IS NOT NULL
            BEGIN INSERT INTO analysis_log VALUES (NEW.path); END;
    """)
    db.close()


def analyses(catalog: Path) -> Counter:
    db = sqlite3.connect(catalog, timeout=30)
    try:
        return Counter(r[0] for r in db.execute("SELECT path FROM analysis_log"))
    finally:
        db.close()


def wait_for(cond, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def sidecars_whole(folder: Path, names: list[str]) -> None:
    from keepers.core.io.xmp import read_sidecar

    for n in names:
        side = read_sidecar(folder / f"{n}.xmp")
        assert side["score"] is not None and 1 <= side["score"] <= 10, n
    assert not [p for p in folder.iterdir() if p.name.endswith(".tmp")], "a temp sidecar was left behind"


@pytest.mark.slow
def test_a_burst_of_files_is_absorbed_and_each_photo_analysed_once(tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    catalog = tmp_path / "catalog.db"
    count_analyses(catalog)
    store = Store(tmp_path / "daemon.db")
    engine = Engine(Settings(catalog=catalog, workers=1), store)
    watcher = Watcher([str(folder)], engine, settle_s=0.3, batch=64)
    watcher.start()
    try:
        data = jpegs(BURST)
        t0 = time.monotonic()
        for i, b in enumerate(data):  # as a card reader import: one file after the other, as fast as the disk goes
            (folder / f"IMG_{i:04d}.jpg").write_bytes(b)
        wait_for(lambda: sum(store.queue_counts().values()) == BURST, 30, "every file to be queued")
        queued_in = time.monotonic() - t0
        wait_for(lambda: store.queue_counts().get("done", 0) == BURST, 120, "the queue to drain")
        took = time.monotonic() - t0
    finally:
        watcher.stop()
    print(f"\n{BURST} files: all queued after {queued_in:.1f} s, all analysed after {took:.1f} s "
          f"({BURST / took:.0f} photos/s)")
    assert store.queue_counts() == {"done": BURST}
    counts = analyses(catalog)
    assert len(counts) == BURST and set(counts.values()) == {1}
    sidecars_whole(folder, [f"IMG_{i:04d}.jpg" for i in range(0, BURST, 25)])


def test_a_file_is_read_only_once_it_is_completely_written(tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    store = Store(tmp_path / "daemon.db")
    engine = Engine(Settings(catalog=tmp_path / "catalog.db", workers=1), store)
    watcher = Watcher([str(folder)], engine, settle_s=0.5, poll_s=0.1)
    watcher.start()
    try:
        [data] = jpegs(1, size=(600, 400))
        with open(folder / "slow.jpg", "wb") as f:  # a slow copy: a chunk every 0.2 s, under the settle time
            for i in range(0, len(data), len(data) // 8 + 1):
                f.write(data[i:i + len(data) // 8 + 1])
                f.flush()
                time.sleep(0.2)
                assert store.queue_counts() == {}, "queued before it was complete"
        wait_for(lambda: store.queue_counts().get("done") == 1, 30, "the photo to be analysed")
    finally:
        watcher.stop()
    row = Catalog(tmp_path / "catalog.db").photo_row(str(folder / "slow.jpg"))
    assert row["error"] is None and row["size"] == len(data)


def serve(tmp: Path, config: Path) -> subprocess.Popen:
    env = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
           "KEEPERS_LOAD_PLUGINS": "0"}
    return subprocess.Popen([KEEPERS, "serve", "--port", "0", "--config", str(config), "--catalog",
                             str(tmp / "catalog.db"), "--workers", "1"], env=env, stderr=subprocess.PIPE, text=True)


def url_of(proc: subprocess.Popen) -> str:
    line, end = "", time.monotonic() + 90
    while "daemon on" not in line and time.monotonic() < end:
        line = proc.stderr.readline()
        assert line or proc.poll() is None, "the daemon exited"
    return line.split("daemon on ")[1].split()[0]


@pytest.mark.slow
def test_a_daemon_killed_mid_batch_and_restarted_analyses_every_photo_exactly_once(tmp_path):
    folder = tmp_path / "import"
    folder.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[daemon]\nwatch = ["{folder}"]\nsettle_s = 0.2\nwatch_batch = 8\nwarm_up = false\n')
    catalog = tmp_path / "catalog.db"
    count_analyses(catalog)
    data = jpegs(150)
    proc = serve(tmp_path, config)
    try:
        url_of(proc)
        for i, b in enumerate(data[:120]):
            (folder / f"A_{i:03d}.jpg").write_bytes(b)
        wait_for(lambda: len(analyses(catalog)) >= 25, 60, "some photos to be analysed")
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.stderr.close()
    at_kill = len(analyses(catalog))
    assert at_kill < 120, "the daemon finished before it was killed: the test proves nothing"
    for i, b in enumerate(data[120:]):  # these arrive while the daemon is down
        (folder / f"B_{i:03d}.jpg").write_bytes(b)
    proc = serve(tmp_path, config)
    try:
        c = Client(url_of(proc))
        wait_for(lambda: len(analyses(catalog)) == 150 and c.get("/health").json()["queue"]["watch"] == 0, 90,
                 "every photo to be analysed after the restart")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()
    counts = analyses(catalog)
    assert len(counts) == 150 and set(counts.values()) == {1}, [p for p, n in counts.items() if n != 1]
    states = Counter(r[0] for r in sqlite3.connect(tmp_path / "daemon.db").execute("SELECT state FROM watch_queue"))
    assert states == {"done": 150}
    sidecars_whole(folder, [f"A_{i:03d}.jpg" for i in range(120)] + [f"B_{i:03d}.jpg" for i in range(30)])


def test_a_dam_client_asks_the_daemon_which_watched_files_failed_and_why_for_its_own_folders_only(tmp_path):
    from keepers.sidecar import auth

    library, other = tmp_path / "library", tmp_path / "other"
    folder = library / "import"
    folder.mkdir(parents=True)
    other.mkdir()
    config = tmp_path / "config.toml"
    config.write_text(f'[daemon]\nwatch = ["{folder}", "{other}"]\nsettle_s = 0.2\nwarm_up = false\n')
    store = Store(tmp_path / "daemon.db")  # the daemon's, beside the catalog
    _, _, key = auth.create_app(store, "dam", [str(library)])
    store.close()
    proc = serve(tmp_path, config)
    try:
        c = Client(url_of(proc), key)
        good = jpegs(2)
        (folder / "good.jpg").write_bytes(good[0])
        (folder / "text.jpg").write_text("hello, not a photo")
        (folder / "zero.jpg").write_bytes(b"")
        (other / "elsewhere.jpg").write_text("not this application's")

        def settled(done, failed):
            w = c.get("/v1/watch").json()
            return w if (w["done"], w["failed_total"], w["queued"] + w["running"]) == (done, failed, 0) else None
        w = wait_for(lambda: settled(1, 2), 60, "the three files to be processed")  # a 0-byte file waits 5 s
        assert w["folders"] == [str(folder)] and w["done"] == 1 and w["failed_total"] == 2
        failed = {f["path"]: f for f in w["failed"]}
        assert set(failed) == {str(folder / "text.jpg"), str(folder / "zero.jpg")}  # not the other folder's file,

        def elsewhere_failed():  # which failed as well
            db = sqlite3.connect(tmp_path / "daemon.db", timeout=30)
            try:
                return db.execute("SELECT state FROM watch_queue WHERE path = ?",
                                  (str(other / "elsewhere.jpg"),)).fetchone() == ("failed",)
            finally:
                db.close()
        wait_for(elsewhere_failed, 30, "the other folder's file to fail")
        assert c.get("/v1/watch").json()["failed_total"] == 2
        assert failed[str(folder / "text.jpg")]["error"].startswith("not a recognised image format")
        assert failed[str(folder / "zero.jpg")]["error"] == "file is empty (0 bytes)"
        assert failed[str(folder / "zero.jpg")]["size"] == 0 and failed[str(folder / "text.jpg")]["failed_at"]
        assert len(c.get("/v1/watch?limit=1").json()["failed"]) == 1

        (folder / "text.jpg").write_bytes(good[1])  # put right: it is analysed again and no longer listed
        w = wait_for(lambda: settled(2, 1), 60, "the corrected file to be analysed")
        assert [f["path"] for f in w["failed"]] == [str(folder / "zero.jpg")] and w["done"] == 2

        def arrives(name: str, data: bytes, mtime_ns: int) -> None:  # whole, with the time it was taken
            staged = tmp_path / name
            staged.write_bytes(data)
            os.utime(staged, ns=(mtime_ns, mtime_ns))
            os.replace(staged, folder / name)
        # put right with an older time, as `cp -p` and `rsync -t` copy a photo: it was still listed as failed
        arrives("zero.jpg", good[1], 10**18)  # 2001
        w = wait_for(lambda: settled(3, 0), 60, "the corrected file with an older time to be analysed")
        # broken now with a time older than its good version's: it was not listed
        arrives("good.jpg", good[0][:3000], 10**18 - 10**9)
        w = wait_for(lambda: settled(3, 1), 60, "the cut-short file to fail")
        assert [f["path"] for f in w["failed"]] == [str(folder / "good.jpg")]
        arrives("text.jpg", good[0], 10**18 + 10**9)  # an analysed file analysed again: still one file done

        def versions_done(name: str) -> int:
            db = sqlite3.connect(tmp_path / "daemon.db", timeout=30)
            try:
                return db.execute("SELECT count(*) FROM watch_queue WHERE path = ? AND state = 'done'",
                                  (str(folder / name),)).fetchone()[0]
            finally:
                db.close()
        wait_for(lambda: versions_done("text.jpg") == 2, 60, "the new version to be analysed")
        assert c.get("/v1/watch").json()["done"] == 3  # it counted versions: 4
        assert "elsewhere.jpg" not in c.get("/health").body.decode()  # the public health check names no file
        doc = c.get("/v1/openapi.json").json()
        assert doc["paths"]["/v1/watch"]["get"]["responses"]["200"]["content"]["application/json"]["schema"] == \
            {"$ref": "#/components/schemas/WatchStatus"}
        assert {"path", "error", "failed_at"} <= set(doc["components"]["schemas"]["WatchFailure"]["properties"])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


def _keepers_watch(tmp_path):
    """`keepers watch` started on a new folder `import` (one worker, 0.2 s settle, a fresh home), once it watches."""
    folder = tmp_path / "import"
    folder.mkdir()
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
           "KEEPERS_LOAD_PLUGINS": "0"}
    proc = subprocess.Popen([KEEPERS, "watch", str(folder), "--settle", "0.2", "--catalog", str(tmp_path / "c.db"),
                             "--workers", "1"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: (tmp_path / "daemon.db").exists(), 60, "the watcher to start")
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    time.sleep(1.0)
    return folder, proc


def test_keepers_watch_tags_new_photos_and_videos_in_the_foreground(tmp_path):
    av = pytest.importorskip("av")
    folder, proc = _keepers_watch(tmp_path)
    try:
        for i, b in enumerate(jpegs(3)):
            (folder / f"new_{i}.jpg").write_bytes(b)
        clip = tmp_path / "clip.mp4"
        with av.open(str(clip), "w") as out:  # 2 s at 5 fps
            s = out.add_stream("libx264", rate=5)
            s.width, s.height, s.pix_fmt = 160, 120, "yuv420p"
            frame = np.asarray(Image.open(io.BytesIO(jpegs(1)[0])))
            for _ in range(10):
                for p in s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                    out.mux(p)
            for p in s.encode():
                out.mux(p)
        os.replace(clip, folder / "clip.mp4")  # arrives whole, by rename
        wanted = [folder / f"new_{i}.jpg.xmp" for i in range(3)] + [folder / "clip.mp4.xmp"]
        wait_for(lambda: all(p.exists() for p in wanted), 60, "the sidecars")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    from keepers.core.io.xmp import read_sidecar

    assert read_sidecar(folder / "clip.mp4.xmp")["judged_by"] == "video"
    assert "file(s) analysed" in out and "photo(s) analysed" not in out, out  # a clip is no photo
    sidecars_whole(folder, [f"new_{i}.jpg" for i in range(3)])


def test_keepers_watch_names_each_file_it_could_not_analyse_and_why(tmp_path):
    folder, proc = _keepers_watch(tmp_path)
    try:
        good = jpegs(1)[0]
        (folder / "good.jpg").write_bytes(good)
        (folder / "text.jpg").write_text("hello, not a photo")
        (folder / "zero.jpg").write_bytes(b"")
        (folder / "truncated.jpg").write_bytes(good[: len(good) // 3])

        def settled():
            db = sqlite3.connect(tmp_path / "daemon.db", timeout=30)
            try:
                return db.execute("SELECT count(*) FROM watch_queue WHERE state IN ('done', 'failed')").fetchone()[0]
            finally:
                db.close()
        wait_for(lambda: settled() == 4, 60, "all four files to be processed")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    said = out + err
    assert (folder / "good.jpg.xmp").exists()
    assert f"{folder / 'text.jpg'}: not a recognised image format" in said, said
    assert f"{folder / 'zero.jpg'}: file is empty" in said, said
    assert f"{folder / 'truncated.jpg'}: file is truncated" in said, said
    assert "good.jpg:" not in said, said


@pytest.mark.parametrize("how", ["deleted", "moved away"])
def test_a_watched_folder_deleted_and_made_again_is_watched_again_and_that_is_said(tmp_path, how):
    # its old watch ended with it: photos in the new folder were analysed only at the next start, and nothing said so
    import shutil

    folder, proc = _keepers_watch(tmp_path)
    try:
        first, second = jpegs(2)
        (folder / "a.jpg").write_bytes(first)
        wait_for(lambda: (folder / "a.jpg.xmp").exists(), 60, "the first photo's sidecar")
        if how == "deleted":
            shutil.rmtree(folder)
        else:
            folder.rename(tmp_path / "imported")
        folder.mkdir()
        (folder / "b.jpg").write_bytes(second)
        wait_for(lambda: (folder / "b.jpg.xmp").exists(), 30, "the new folder's photo's sidecar")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert f"watched folder {folder} is back: watching it again" in err, err
