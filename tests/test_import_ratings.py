"""`keepers import-ratings`: the photographer's own ratings, labels and keywords (sidecars from Lightroom, darktable
and digiKam, XMP inside the photo, digiKam's database) go into the catalog's user_ratings table; what Keepers wrote
itself does not."""

from __future__ import annotations

import io
import json
import shutil
import sqlite3
import subprocess
from pathlib import Path

from PIL import Image
from skimage import data as skdata

from keepers.core.io.hosts import adapter_for
from keepers.core.types import Verdict
from keepers.core.io.xmp import SidecarWriter
from keepers.plugins.importer import from_sidecar

from helpers import keepers

FIXTURES = Path(__file__).parent / "fixtures"


def jpeg(folder: Path, name: str, step: int = 8) -> Path:
    buf = io.BytesIO()
    Image.fromarray(skdata.coffee()[::step, ::step]).save(buf, "JPEG", quality=85)
    p = folder / name
    p.write_bytes(buf.getvalue())
    return p


def keepers_writes(path: Path, stars: int, keywords: list[str], host: str = "generic") -> None:
    v = Verdict(score=5.0, verdict="good" if stars >= 3 else "bad", confidence=0.8, stars=stars, reasons=[],
                keywords=keywords)
    with SidecarWriter() as w:
        w.write(path, v, analyzers={}, host=adapter_for(None, host))


def exiftool(*args) -> None:
    subprocess.run(["exiftool", "-q", *map(str, args)], check=True)


def library(tmp: Path) -> Path:
    d = tmp / "photos"
    d.mkdir()
    jpeg(d, "lr.CR3")
    shutil.copy(FIXTURES / "sidecars" / "lightroom.xmp", d / "lr.xmp")  # Lightroom: rating 4, label Green
    shutil.copy(FIXTURES / "sidecars" / "darktable.xmp", jpeg(d, "dt.jpg").with_name("dt.jpg.xmp"))
    shutil.copy(FIXTURES / "sidecars" / "digikam.xmp", jpeg(d, "dk.jpg").with_name("dk.jpg.xmp"))
    keepers_writes(jpeg(d, "only_keepers.jpg"), 4, ["animal|bird"])
    changed = jpeg(d, "changed.jpg")
    keepers_writes(changed, -1, ["flaw|noise"], "digikam")
    exiftool("-overwrite_original", "-XMP-xmp:Rating=5", "-XMP-lr:HierarchicalSubject+=trips|Rome",
             f"{changed}.xmp")  # the photographer re-rated it and added a keyword
    exiftool("-overwrite_original", "-XMP-xmp:Rating=5", "-XMP-dc:Subject=holiday", "-IPTC:Keywords=beach",
             jpeg(d, "embedded.jpg", 7))  # as Lightroom saves metadata into a JPEG
    placeholder = jpeg(d, "dt_import.jpg")
    config = Path(__file__).parents[1] / "core" / "io" / "exiftool_config.pl"  # darktable's namespace; -config comes first
    subprocess.run(["exiftool", "-config", str(config), "-q", "-o", f"{placeholder}.xmp", "-XMP-xmp:Rating=1",
                    "-XMP-darktable:DarktableXmpVersion=5"], check=True)  # what darktable writes on import
    return d


def test_the_photographers_ratings_labels_and_keywords_are_imported_and_keepers_own_are_not(tmp_path):
    d = library(tmp_path)
    p = keepers("import-ratings", d, "--json", tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    got = {Path(r["path"]).name: r for r in map(json.loads, p.stdout.splitlines())}
    assert set(got) == {"lr.CR3", "dt.jpg", "dk.jpg", "changed.jpg", "embedded.jpg"}
    pick = lambda r: (r["rating"], r["rejected"], r["pick_label"], r["color"], sorted(r["keywords"]))  # noqa: E731
    assert pick(got["lr.CR3"]) == (4, False, None, "green", ["events|wedding", "people|Anna"])
    assert pick(got["dt.jpg"]) == (2, False, None, "green", ["fjord", "places|Norway"])
    assert pick(got["dk.jpg"]) == (3, False, 3, "blue", ["People|Anna", "places|Norway"])
    assert pick(got["changed.jpg"]) == (5, False, None, None, ["trips|Rome"])  # Keepers' reject and keyword left out
    assert pick(got["embedded.jpg"]) == (5, False, None, None, ["beach", "holiday"])
    assert got["lr.CR3"]["origin"].endswith("lr.xmp") and got["embedded.jpg"]["origin"].endswith("embedded.jpg")
    # in the catalog, once per photo and source, also after a second import
    assert keepers("import-ratings", d, tmp=tmp_path).returncode == 0
    catalog = next((tmp_path / "xdg_data_home").rglob("catalog.db"))
    with sqlite3.connect(catalog) as db:
        rows = db.execute("SELECT path, source, rating, keywords FROM user_ratings ORDER BY path").fetchall()
    assert [(Path(r[0]).name, r[1], r[2]) for r in rows] == sorted(
        (n, "xmp", r["rating"]) for n, r in got.items())
    assert json.loads(dict((Path(r[0]).name, r[3]) for r in rows)["dk.jpg"]) == got["dk.jpg"]["keywords"]


def test_darktables_import_rating_and_an_unrated_zero_are_no_rating(tmp_path):
    d = library(tmp_path)
    assert from_sidecar(str(d / "dt_import.jpg")).empty
    zero = jpeg(d, "zero.jpg", 6)
    exiftool("-o", f"{zero}.xmp", "-XMP-xmp:Rating=0", "-XMP-dc:Subject=kept")
    r = from_sidecar(str(zero))
    assert r.rating is None and r.rejected is None and r.keywords == ["kept"]


def test_a_rejected_photo_is_imported_as_rejected_from_darktable_and_digikam_sidecars(tmp_path):
    a, b = jpeg(tmp_path, "a.jpg"), jpeg(tmp_path, "b.jpg", 7)
    exiftool("-o", f"{a}.xmp", "-XMP-xmp:Rating=-1")
    exiftool("-o", f"{b}.xmp", "-XMP-xmp:Rating=2", "-XMP-digiKam:PickLabel=1")
    ra, rb = from_sidecar(str(a)), from_sidecar(str(b))
    assert (ra.rating, ra.rejected) == (None, True) and (rb.rating, rb.rejected, rb.pick_label) == (2, True, 1)


def test_import_reads_a_digikam_database_read_only(tmp_path):
    db_file = tmp_path / "digikam4.db"
    db = sqlite3.connect(db_file)
    db.executescript((FIXTURES / "digikam" / "digikam4-7.9-empty.sql").read_text())
    db.execute("INSERT INTO AlbumRoots (label, status, type, identifier, specificPath) VALUES ('p', 0, 1, ?, '/')",
               (f"volumeid:?path={tmp_path}/photos",))
    db.execute("INSERT INTO Albums (albumRoot, relativePath) VALUES (1, '/')")
    db.execute("INSERT INTO Images (album, name, status, category) VALUES (1, 'x.jpg', 1, 1), (1, 'y.jpg', 1, 1)")
    db.execute("INSERT INTO ImageInformation (imageid, rating) VALUES (1, 5), (2, -1)")
    root = db.execute("INSERT INTO Tags (pid, name) VALUES (0, '_Digikam_Internal_Tags_')").lastrowid
    red = db.execute("INSERT INTO Tags (pid, name) VALUES (?, 'Color Label Red')", (root,)).lastrowid
    trips = db.execute("INSERT INTO Tags (pid, name) VALUES (0, 'trips')").lastrowid
    rome = db.execute("INSERT INTO Tags (pid, name) VALUES (?, 'Rome')", (trips,)).lastrowid
    db.executemany("INSERT INTO ImageTags VALUES (?, ?)", [(1, red), (1, rome)])
    db.commit()
    db.close()
    before = db_file.read_bytes()
    p = keepers("import-ratings", "--digikam-db", db_file, "--json", tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    assert db_file.read_bytes() == before
    rows = [json.loads(line) for line in p.stdout.splitlines()]
    assert rows == [{"path": str(tmp_path / "photos" / "x.jpg"), "source": "digikam", "rating": 5, "rejected": None,
                     "pick_label": None, "color": "red", "keywords": ["trips|Rome"], "origin": str(db_file)}]


def test_import_ratings_needs_something_to_read(tmp_path):
    p = keepers("import-ratings", tmp=tmp_path)
    assert p.returncode == 2 and "--digikam-db" in p.stderr
