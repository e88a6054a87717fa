"""digiKam: reading its database read-only (plugins/digikam/db.py) from a database with digiKam 7.9's own schema,
and the real digiKam (Debian package, headless under Xvfb) reading the sidecars Keepers wrote: rating, pick label,
colour label and tag paths. The real-digiKam test skips when digiKam is absent (`make interop-digikam`)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest
from PIL import Image

from keepers.core.lab.demo import sample_photo
from keepers.core.io.exiftool import CONFIG
from keepers.core.io.hosts import adapter_for
from keepers.core.types import Verdict
from keepers.core.io.xmp import SidecarWriter
from keepers.plugins.digikam.db import read

FIXTURES = Path(__file__).parent / "fixtures"
SCHEMA = FIXTURES / "digikam" / "digikam4-7.9-empty.sql"  # `sqlite3 digikam4.db .dump` of a new digiKam 7.9 db


def new_db(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path)
    db.executescript(SCHEMA.read_text())
    return db


def tag(db, path: str) -> int:
    """The id of tag `a/b/c`, made as digiKam makes tags (its trigger fills TagsTree)."""
    pid = 0
    for name in path.split("/"):
        row = db.execute("SELECT id FROM Tags WHERE pid = ? AND name = ?", (pid, name)).fetchone()
        if row is None:
            row = (db.execute("INSERT INTO Tags (pid, name) VALUES (?, ?)", (pid, name)).lastrowid,)
        pid = row[0]
    return pid


def add_image(db, album: int, name: str, rating: int, tags: list[str], status: int = 1) -> int:
    cur = db.execute("INSERT INTO Images (album, name, status, category, fileSize) VALUES (?, ?, ?, 1, 1000)",
                     (album, name, status))
    db.execute("INSERT INTO ImageInformation (imageid, rating) VALUES (?, ?)", (cur.lastrowid, rating))
    for t in tags:
        db.execute("INSERT INTO ImageTags (imageid, tagid) VALUES (?, ?)", (cur.lastrowid, tag(db, t)))
    return cur.lastrowid


def test_the_digikam_db_is_read_read_only_with_labels_from_its_internal_tags(tmp_path):
    db_file = tmp_path / "digikam4.db"
    db = new_db(db_file)
    db.execute("INSERT INTO AlbumRoots (label, status, type, identifier, specificPath) VALUES "
               "('photos', 0, 1, ?, '/')", (f"volumeid:?path={tmp_path}/photos",))
    db.execute("INSERT INTO Albums (albumRoot, relativePath) VALUES (1, '/'), (1, '/2023/Lofoten')")
    add_image(db, 1, "a.jpg", 4, ["places/Norway", "_Digikam_Internal_Tags_/Pick Label Accepted",
                                  "_Digikam_Internal_Tags_/Color Label Blue"])
    add_image(db, 2, "b.jpg", 0, ["_Digikam_Internal_Tags_/Pick Label Rejected", "People/Anna"])
    add_image(db, 2, "c.jpg", -1, [])  # no rating
    add_image(db, 2, "gone.jpg", 5, [], status=3)  # in digiKam's trash
    db.commit()
    db.close()
    before = db_file.read_bytes()
    got = {Path(p.path).name: p for p in read(db_file)}
    assert db_file.read_bytes() == before  # opened read-only
    assert set(got) == {"a.jpg", "b.jpg", "c.jpg"}
    a, b, c = got["a.jpg"], got["b.jpg"], got["c.jpg"]
    assert a.path == str(tmp_path / "photos" / "a.jpg") and b.path == str(tmp_path / "photos/2023/Lofoten/b.jpg")
    assert (a.rating, a.pick_label, a.color_label, a.tags) == (4, 3, 5, ["places/Norway"])
    assert (b.rating, b.pick_label, b.color_label, b.tags) == (0, 1, None, ["People/Anna"])
    assert (c.rating, c.pick_label, c.tags) == (None, None, [])
    assert [Path(p.path).name for p in read(db_file, tmp_path / "photos" / "2023")] == ["b.jpg", "c.jpg"]


def test_the_digikam_db_is_read_where_its_folder_name_has_uri_characters(tmp_path):
    """`file:{path}?mode=ro` broke on a `#`, `%` or `?` in a folder name (and on Windows drive paths): the URI
    is built by pathlib, escaped."""
    folder = tmp_path / "100% sure #2?"
    folder.mkdir()
    db_file = folder / "digikam4.db"
    db = new_db(db_file)
    db.execute("INSERT INTO AlbumRoots (label, status, type, identifier, specificPath) VALUES "
               "('photos', 0, 1, ?, '/')", (f"volumeid:?path={tmp_path}/photos",))
    db.execute("INSERT INTO Albums (albumRoot, relativePath) VALUES (1, '/')")
    add_image(db, 1, "a.jpg", 3, ["People/Anna"])
    db.commit()
    db.close()
    [a] = read(db_file)
    assert (Path(a.path).name, a.rating, a.tags) == ("a.jpg", 3, ["People/Anna"])


# --- the real digiKam ---------------------------------------------------------------------------------------------

needs_digikam = pytest.mark.skipif(
    not (shutil.which("digikam") and shutil.which("xvfb-run")),
    reason="needs the real digiKam and xvfb-run: `make interop-digikam` installs them as root "
           "(apt-get install --no-install-recommends digikam xvfb xauth)")

RC = """[Album Settings]
Album Path={photos}

[Database Settings]
Database Type=QSQLITE
Database Name={db}/
Database Name Thumbnails={db}/
Database Name Face={db}/
Database Name Similarity={db}/

[General Settings]
Version=7.9.0

[Metadata Settings]
Use XMP Sidecar For Reading=true
"""


def _digikam_until(env: dict, db_file: Path, ready, timeout: float) -> bool:
    """Start digiKam headless, wait until `ready(db)` holds, stop it (with its Xvfb); whether it got ready."""
    p = subprocess.Popen(["xvfb-run", "-a", "digikam"], env=env, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    ok, deadline = False, time.time() + timeout
    try:
        while time.time() < deadline and not ok and p.poll() is None:
            time.sleep(0.5)
            try:
                with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=1) as db:
                    ok = bool(ready(db))
            except sqlite3.Error:
                pass  # the schema is not there yet, or digiKam holds a write lock
        time.sleep(2 if ok else 0)  # let it finish the transaction it is in
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                break
            try:
                p.wait(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
    return ok


def digikam_scan(photos: Path, work: Path) -> Path:
    """digiKam 7.9 scans `photos` into a new database (reading sidecars); returns the database file."""
    home, dbdir = work / "home", work / "db"
    (home / ".config").mkdir(parents=True)
    dbdir.mkdir()
    (home / ".config" / "digikamrc").write_text(RC.format(photos=photos, db=dbdir))
    db_file = dbdir / "digikam4.db"
    db_file.touch()  # else digiKam asks in a dialog whether to create it
    # digiKam reads its settings under XDG_CONFIG_HOME where that is set, before HOME: a run with its own XDG
    # folders (a CI's, a developer's fresh home) gave it no digikamrc, so it never made its database
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), QTWEBENGINE_DISABLE_SANDBOX="1")  # root needs no-sandbox
    # first start: digiKam makes its schema, then waits in the first-run collection dialog
    assert _digikam_until(env, db_file, lambda db: db.execute(
        "SELECT value FROM Settings WHERE keyword = 'DBVersion'").fetchone(), 90), "digiKam made no database"
    with sqlite3.connect(db_file) as db:
        db.execute("INSERT INTO AlbumRoots (label, status, type, identifier, specificPath) VALUES "
                   "('photos', 0, 1, ?, '/')", (f"volumeid:?path={photos}",))
    n = sum(1 for f in photos.iterdir() if f.suffix.lower() in (".jpg", ".dng", ".nef"))
    # second start: it scans the collection (and its sidecars) at start-up
    assert _digikam_until(env, db_file, lambda db: db.execute(
        "SELECT count(*) FROM Images i JOIN ImageInformation ii ON ii.imageid = i.id").fetchone()[0] >= n, 120), \
        "digiKam did not scan the photos"
    return db_file


def verdict(stars, keywords, **kw) -> Verdict:
    return Verdict(score=5.0, verdict="good" if stars >= 3 else "bad", confidence=0.8, stars=stars, reasons=[],
                   keywords=keywords, **kw)


@needs_digikam
def test_digikam_shows_our_rating_pick_label_colour_label_and_tag_paths(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    names = {"reject.jpg": "coffee", "pick.jpg": "chelsea", "theirs.jpg": "astronaut"}
    for name, sample in names.items():  # distinct photos: digiKam treats identical files as copies
        Image.fromarray(sample_photo(sample)).save(photos / name, quality=90)
    shutil.copy(FIXTURES / "sidecars" / "digikam.xmp", photos / "theirs.jpg.xmp")  # the photographer's digiKam data
    host = adapter_for(None, "digikam")
    with SidecarWriter() as w:
        w.write(photos / "reject.jpg", verdict(-1, ["flaw|motion blur"]), analyzers={}, host=host)
        w.write(photos / "pick.jpg", verdict(4, ["animal|cat", "group|burst", "group|pick"], group="g", pick=True),
                analyzers={}, host=host)
        w.write(photos / "theirs.jpg", verdict(-1, ["people|portrait"]), analyzers={}, host=host)
    seen = {Path(p.path).name: p for p in read(digikam_scan(photos, tmp_path / "digikam"))}
    assert (seen["reject.jpg"].rating, seen["reject.jpg"].pick_label, seen["reject.jpg"].color_label) == (0, 1, 1)
    assert seen["reject.jpg"].tags == ["Keepers/flaw/motion blur"]
    assert (seen["pick.jpg"].rating, seen["pick.jpg"].pick_label, seen["pick.jpg"].color_label) == (4, 3, 4)
    assert sorted(seen["pick.jpg"].tags) == ["Keepers/animal/cat", "Keepers/group/burst", "Keepers/group/pick"]
    # the photographer's rating, labels and tags win; ours are added beside theirs
    assert (seen["theirs.jpg"].rating, seen["theirs.jpg"].pick_label, seen["theirs.jpg"].color_label) == (3, 3, 5)
    assert sorted(seen["theirs.jpg"].tags) == ["Keepers/people/portrait", "People/Anna", "places/Norway"]

    from keepers.plugins.importer import from_digikam

    imported = {Path(r.path).name: r for r in from_digikam(tmp_path / "digikam" / "db" / "digikam4.db")}
    assert set(imported) == {"theirs.jpg"}  # only the photographer's data, none of Keepers'
    r = imported["theirs.jpg"]
    assert (r.rating, r.pick_label, r.color, sorted(r.keywords)) == (3, 3, "blue", ["People|Anna", "places|Norway"])


@needs_digikam
def test_digikam_still_shows_the_labels_rating_and_tags_inside_the_photo_after_keepers_first_sidecar(tmp_path):
    """Issue 20: a JPEG whose own XMP says Rejected, Blue, People/Anna, 2 stars showed Accepted and only
    Keepers/animal/cat once Keepers wrote its first sidecar (digiKam, reading sidecars, ignores the photo's XMP)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    anna, plain = photos / "anna.jpg", photos / "plain.jpg"
    Image.fromarray(sample_photo("astronaut")).save(anna, quality=90)
    Image.fromarray(sample_photo("chelsea")).save(plain, quality=90)
    subprocess.run(["exiftool", "-config", str(CONFIG), "-q", "-overwrite_original", "-XMP-digiKam:PickLabel=1",
                    "-XMP-digiKam:ColorLabel=5", "-XMP-xmp:Rating=2", "-XMP-digiKam:TagsList=People/Anna",
                    "-XMP-lr:HierarchicalSubject=People|Anna", "-XMP-dc:Subject=Anna", str(anna)], check=True)
    host = adapter_for(None, "digikam")
    pick = verdict(4, ["animal|cat", "group|pick"], group="g", pick=True)  # Keepers would say: accepted, green
    with SidecarWriter() as w:
        w.write(anna, pick, analyzers={}, host=host)
        w.write(plain, pick, analyzers={}, host=host)
    seen = {Path(p.path).name: p for p in read(digikam_scan(photos, tmp_path / "digikam"))}
    a = seen["anna.jpg"]
    assert (a.rating, a.pick_label, a.color_label) == (2, 1, 5)  # the photographer's, not Keepers'
    assert sorted(a.tags) == ["Keepers/animal/cat", "Keepers/group/pick", "People/Anna"]
    b = seen["plain.jpg"]  # nothing set by the photographer: Keepers' labels show
    assert (b.rating, b.pick_label, b.color_label) == (4, 3, 4)


def test_the_digikam_settings_the_readme_names_are_the_ones_digikam_shows():
    # a photographer looks for the README's words in digiKam's settings dialog: they must be digiKam's own labels
    gui = Path("/usr/lib/digikam/libdigikamgui.so.7.9.0")  # its settings dialog
    if not gui.exists():
        pytest.skip("needs digiKam 7.9 (Debian: `make interop-digikam`)")
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    bullet = re.search(r"^- \*\*digiKam:\*\*(.+?)^- ", readme, re.S | re.M).group(1)
    named = [" ".join(n.split()) for n in re.findall(r"\*([^*`]+)\*", bullet)]
    assert named
    labels = {line.replace("&", "") for line in subprocess.run(["strings", str(gui)], capture_output=True,
                                                                text=True).stdout.splitlines()}
    assert [n for n in named if n not in labels] == []
