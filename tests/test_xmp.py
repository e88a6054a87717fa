"""XMP write-back: one sidecar per photo, the photographer's data kept, atomic writes, readable by every XMP reader."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from PIL import Image
from skimage import data as skdata

from helpers import chattr
from keepers.core.io import exiftool as et_proc
from keepers.core.errors import WriteError
from keepers.core.types import Reason, Verdict
from keepers.core.io.naming import sidecar_for
from keepers.core.io.xmp import SidecarWriter, photo_rating, read_sidecar
from keepers.plugins.lightroom.adapter import LightroomAdapter

FIXTURES = Path(__file__).parent / "fixtures" / "sidecars"
ANALYZERS = {"sharpness": "1.2", "exposure": "0.4"}
LIGHTROOM = LightroomAdapter()  # its naming: `photo.xmp` where unambiguous
_JPEG: list[bytes] = []


def photo(folder: Path, name: str) -> Path:
    """A small real JPEG (scikit-image's coffee) under `name`; raw names get the same bytes: the writer reads
    nothing from a photo but an embedded rating."""
    if not _JPEG:
        buf = io.BytesIO()
        Image.fromarray(skdata.coffee()[::8, ::8]).save(buf, "JPEG", quality=85)
        _JPEG.append(buf.getvalue())
    p = folder / name
    p.write_bytes(_JPEG[0])
    return p


def verdict(stars=4, keywords=("quality|sharp", "animal|bird"), **kw) -> Verdict:
    reasons = kw.pop("reasons", [Reason("noise", "Visible noise in the shadows", 0.3, 0.4),
                                 Reason("motion_blur", "Motion blur on the subject", 0.8, 2.1)])
    return Verdict(score=kw.pop("score", 7.4), verdict=kw.pop("verdict", "good"), confidence=0.81, stars=stars,
                   reasons=reasons, keywords=list(keywords), **kw)


def tags(path: Path) -> dict:
    """Every tag exiftool reads from a sidecar, structures whole, without file-system facts."""
    out = subprocess.run(["exiftool", "-j", "-G1", "-struct", str(path)], capture_output=True, text=True, check=True)
    return {k: v for k, v in json.loads(out.stdout)[0].items()
            if k != "SourceFile" and not k.startswith(("System:", "File:", "ExifTool:"))}


def set_rating(path: Path, value: int) -> None:
    """The photographer rates in another program."""
    subprocess.run(["exiftool", "-q", "-overwrite_original", f"-XMP-xmp:Rating={value}", str(path)], check=True)


def snapshot(folder: Path) -> dict:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}


@pytest.fixture
def writer():
    with SidecarWriter() as w:
        yield w


@pytest.mark.parametrize("fixture", ["darktable", "lightroom", "foreign"])
def test_foreign_content_of_darktable_lightroom_and_unknown_sidecars_is_kept(tmp_path, writer, fixture):
    img = photo(tmp_path, "IMG_0042.CR2")
    side = tmp_path / "IMG_0042.CR2.xmp"
    shutil.copy(FIXTURES / f"{fixture}.xmp", side)
    before = tags(side)
    res = writer.write(img, verdict(), analyzers=ANALYZERS)
    after = tags(side)
    assert res.sidecar == side and not res.created

    lists = ("XMP-dc:Subject", "XMP-lr:HierarchicalSubject")
    ignore = ("XMP-keepers:", "XMP-x:XMPToolkit", "XMP-xmp:Rating", *lists)  # the toolkit names the last writer
    # exiftool drops empty rdf lists (darktable's empty masks_history): they hold nothing
    kept = {k: v for k, v in before.items() if not k.startswith(ignore) and v not in ("", [])}
    assert kept == {k: v for k, v in after.items() if not k.startswith(ignore)}
    if "XMP-xmp:Rating" in before:
        assert after["XMP-xmp:Rating"] == before["XMP-xmp:Rating"]  # the photographer's rating
    for tag, ours in zip(lists, (["sharp", "bird"], ["Keepers|quality|sharp", "Keepers|animal|bird"])):
        old = before.get(tag, [])
        assert after[tag][: len(old)] == old  # theirs first, untouched
        assert set(ours) <= set(after[tag]) and len(after[tag]) == len(set(after[tag]))  # ours added, no duplicate
    assert after["XMP-keepers:Score"] == 7.4 and after["XMP-keepers:Reasons"][0].startswith("motion_blur (-2.1): ")


def test_the_photographers_own_rating_is_never_replaced_unless_asked(tmp_path, writer):
    img = photo(tmp_path, "IMG_0042.CR3")
    shutil.copy(FIXTURES / "lightroom.xmp", tmp_path / "IMG_0042.xmp")
    res = writer.write(img, verdict(stars=1), analyzers=ANALYZERS)
    s = read_sidecar(res.sidecar)
    assert not res.rating_written and s["rating"] == 4 and s["rating_set"] is None and s["stars"] == 1
    res = writer.write(img, verdict(stars=1), analyzers=ANALYZERS, overwrite_ratings=True)
    s = read_sidecar(res.sidecar)
    assert res.rating_written and s["rating"] == 1 and s["rating_set"] == 1


def test_a_rating_inside_the_photo_counts_as_the_photographers(tmp_path, writer):
    img = photo(tmp_path, "rated.jpg")  # rated in Lightroom, which embeds XMP in JPEGs
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=5", str(img)], check=True)
    for _ in range(2):  # the sidecar Keepers created starts from the photo's XMP: its rating is theirs
        res = writer.write(img, verdict(stars=1), analyzers=ANALYZERS)
        assert not res.rating_written and read_sidecar(res.sidecar)["rating"] == 5
    assert writer.write(img, verdict(stars=1), analyzers=ANALYZERS, overwrite_ratings=True).rating_written
    assert read_sidecar(res.sidecar)["rating"] == 1


def test_a_rating_keepers_set_last_is_updated_and_a_reject_is_minus_one(tmp_path, writer):
    img = photo(tmp_path, "a.jpg")
    assert writer.write(img, verdict(stars=2), analyzers=ANALYZERS).rating_written
    res = writer.write(img, verdict(stars=-1, verdict="bad"), analyzers=ANALYZERS)
    s = read_sidecar(res.sidecar)
    assert res.rating_written and s["rating"] == -1 and s["rating_set"] == -1 and s["verdict"] == "bad"


def test_a_rating_the_photographer_changed_after_keepers_stays_theirs_for_good(tmp_path, writer):
    img = photo(tmp_path, "a.jpg")
    side = writer.write(img, verdict(stars=2), analyzers=ANALYZERS).sidecar
    set_rating(side, 5)
    assert not writer.write(img, verdict(stars=3), analyzers=ANALYZERS).rating_written
    assert read_sidecar(side)["rating"] == 5 and read_sidecar(side)["rating_set"] is None
    set_rating(side, 3)  # now equal to what Keepers would write, but set by the photographer
    assert not writer.write(img, verdict(stars=1), analyzers=ANALYZERS).rating_written
    assert read_sidecar(side)["rating"] == 3


def test_a_second_run_removes_only_the_keywords_keepers_added(tmp_path, writer):
    img = photo(tmp_path, "IMG_7.jpg")
    side = tmp_path / "IMG_7.jpg.xmp"
    shutil.copy(FIXTURES / "foreign.xmp", side)  # the photographer's dc:subject: Lofoten, bird
    first = writer.write(img, verdict(keywords=["animal|bird", "quality|sharp"]), analyzers=ANALYZERS)
    assert first.keywords_added == ["Keepers|animal|bird", "Keepers|quality|sharp", "sharp"]  # "bird" was theirs
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-dc:Subject+=sunset", str(side)], check=True)
    second = writer.write(img, verdict(keywords=["quality|soft", "Keepers|animal|bird"]), analyzers=ANALYZERS,
                          extra={"GroupKind": "burst"})
    s = read_sidecar(side)
    assert sorted(s["keywords"]) == ["Lofoten", "bird", "soft", "sunset"]  # exiftool puts "soft" where "sharp" was
    assert s["hierarchical"] == ["Keepers|animal|bird", "Keepers|quality|soft"]
    assert sorted(second.keywords_removed) == ["Keepers|quality|sharp", "sharp"]
    assert sorted(s["keywords_added"]) == ["Keepers|animal|bird", "Keepers|quality|soft", "soft"]
    assert s["group_kind"] == "burst" and s["analyzers"] == ["exposure=0.4", "sharpness=1.2"]
    third = writer.write(img, verdict(keywords=[], reasons=[]), analyzers=ANALYZERS)
    s = read_sidecar(side)
    assert s["keywords"] == ["Lofoten", "bird", "sunset"] and s["hierarchical"] == [] and not third.keywords_added
    assert s["reasons"] == [] and s["group_kind"] is None  # our old values are replaced, not appended


def test_a_keyword_the_photographer_has_in_another_case_is_not_added_again(tmp_path, writer):
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    subprocess.run(["exiftool", "-q", "-o", str(side), "-XMP-dc:Subject=Bird"], check=True)
    writer.write(img, verdict(keywords=["animal|bird"]), analyzers=ANALYZERS)
    writer.write(img, verdict(keywords=["animal|bird"]), analyzers=ANALYZERS)
    s = read_sidecar(side)
    assert s["keywords"] == ["Bird"] and s["hierarchical"] == ["Keepers|animal|bird"]


def test_a_lightroom_style_sidecar_is_updated_and_no_second_one_is_created(tmp_path, writer):
    img = photo(tmp_path, "IMG_0042.CR3")
    shutil.copy(FIXTURES / "lightroom.xmp", tmp_path / "IMG_0042.xmp")
    res = writer.write(img, verdict(), analyzers=ANALYZERS)
    assert res.sidecar == tmp_path / "IMG_0042.xmp" and not res.created
    assert sorted(p.name for p in tmp_path.iterdir()) == ["IMG_0042.CR3", "IMG_0042.xmp"]
    assert "Keepers|animal|bird" in read_sidecar(res.sidecar)["hierarchical"]


def test_case_variants_of_a_sidecar_name_are_found(tmp_path, writer):
    for name, side in [("IMG_1.jpg", "IMG_1.JPG.xmp"), ("IMG_2.jpg", "IMG_2.jpg.XMP"), ("IMG_3.NEF", "IMG_3.XMP")]:
        img = photo(tmp_path, name)
        (tmp_path / side).write_bytes((FIXTURES / "darktable.xmp").read_bytes())
        assert sidecar_for(img) == tmp_path / side
        assert writer.write(img, verdict(), analyzers=ANALYZERS).sidecar == tmp_path / side
    assert len(list(tmp_path.glob("*.[xX][mM][pP]"))) == 3


def test_raw_and_jpeg_of_one_stem_never_share_a_sidecar(tmp_path, writer):
    raw, jpg = photo(tmp_path, "IMG_0042.CR3"), photo(tmp_path, "IMG_0042.JPG")
    lr = tmp_path / "IMG_0042.xmp"  # Lightroom's, for the raw (photoshop:SidecarForExtension="CR3")
    shutil.copy(FIXTURES / "lightroom.xmp", lr)
    assert sidecar_for(raw) == lr and sidecar_for(jpg) == tmp_path / "IMG_0042.JPG.xmp"
    lr_bytes = lr.read_bytes()
    assert writer.write(jpg, verdict(), analyzers=ANALYZERS).created
    assert lr.read_bytes() == lr_bytes  # the JPEG's write did not touch the raw's sidecar
    assert writer.write(raw, verdict(), analyzers=ANALYZERS).sidecar == lr


def test_an_ambiguous_stem_sidecar_is_used_by_neither_photo(tmp_path, writer):
    a, b = photo(tmp_path, "IMG_5.jpg"), photo(tmp_path, "IMG_5.png")
    short = tmp_path / "IMG_5.xmp"
    shutil.copy(FIXTURES / "foreign.xmp", short)  # no SidecarForExtension, no raw: whose is it?
    assert writer.write(a, verdict(), analyzers=ANALYZERS).sidecar == tmp_path / "IMG_5.jpg.xmp"
    assert writer.write(b, verdict(), analyzers=ANALYZERS).sidecar == tmp_path / "IMG_5.png.xmp"
    assert short.read_bytes() == (FIXTURES / "foreign.xmp").read_bytes()


def test_lightroom_naming_creates_a_stem_sidecar_only_where_it_is_unambiguous(tmp_path, writer):
    solo = photo(tmp_path, "DSC_1.NEF")
    assert writer.write(solo, verdict(), analyzers=ANALYZERS, host=LIGHTROOM).sidecar == tmp_path / "DSC_1.xmp"
    raw, jpg = photo(tmp_path, "DSC_2.NEF"), photo(tmp_path, "DSC_2.JPG")
    assert writer.write(raw, verdict(), analyzers=ANALYZERS, host=LIGHTROOM).sidecar == tmp_path / "DSC_2.xmp"
    assert writer.write(jpg, verdict(), analyzers=ANALYZERS, host=LIGHTROOM).sidecar == tmp_path / "DSC_2.JPG.xmp"
    assert tags(tmp_path / "DSC_2.xmp")["XMP-photoshop:SidecarForExtension"] == "NEF"
    assert sidecar_for(raw) == tmp_path / "DSC_2.xmp" and sidecar_for(jpg) == tmp_path / "DSC_2.JPG.xmp"  # stable
    assert sidecar_for(photo(tmp_path, "new.jpg")) == tmp_path / "new.jpg.xmp"  # auto: darktable/digiKam style


def test_a_dry_run_touches_nothing_on_disk(tmp_path, writer):
    new, old = photo(tmp_path, "new.jpg"), photo(tmp_path, "old.jpg")
    shutil.copy(FIXTURES / "darktable.xmp", tmp_path / "old.jpg.xmp")
    before = snapshot(tmp_path)
    a = writer.write(new, verdict(), analyzers=ANALYZERS, dry_run=True)
    b = writer.write(old, verdict(stars=1), analyzers=ANALYZERS, dry_run=True)
    assert snapshot(tmp_path) == before
    assert a.dry_run and a.created and a.rating_written and a.sidecar == tmp_path / "new.jpg.xmp"
    assert not b.created and not b.rating_written and "Keepers|animal|bird" in b.keywords_added


def test_a_read_only_sidecar_is_left_as_it_is(tmp_path, writer):
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    shutil.copy(FIXTURES / "darktable.xmp", side)
    side.chmod(0o444)
    with pytest.raises(WriteError, match="read-only"):
        writer.write(img, verdict(), analyzers=ANALYZERS)
    assert side.read_bytes() == (FIXTURES / "darktable.xmp").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jpg", "a.jpg.xmp"]


def test_a_read_only_folder_fails_one_photo_and_the_batch_goes_on(tmp_path, writer):
    locked, free = tmp_path / "locked", tmp_path / "free"
    locked.mkdir(), free.mkdir()
    a, b = photo(locked, "a.jpg"), photo(free, "b.jpg")
    locked.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="read-only"):  # typed: the pipeline reports it and goes on
            writer.write(a, verdict(), analyzers=ANALYZERS)
        assert writer.write(b, verdict(), analyzers=ANALYZERS).sidecar == free / "b.jpg.xmp"
        assert os.listdir(locked) == ["a.jpg"]
    finally:
        locked.chmod(0o755)


def test_a_folder_the_system_refuses_to_write_to_raises_write_error(tmp_path, writer):
    # chmod does not stop root; an immutable folder stops everyone: the kernel itself says no (access(2))
    img = photo(tmp_path, "a.jpg")
    chattr("+i", tmp_path)
    try:
        with pytest.raises(WriteError, match="read-only"):
            writer.write(img, verdict(), analyzers=ANALYZERS)
        assert os.listdir(tmp_path) == ["a.jpg"]
    finally:
        chattr("-i", tmp_path)


def test_a_write_that_fails_after_the_temp_file_leaves_the_old_sidecar_and_no_temp_file(tmp_path, writer):
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    shutil.copy(FIXTURES / "darktable.xmp", side)
    # append-only: writable, so every check passes, but the rename over it fails (EPERM), after exiftool's output
    # was written to the temp file
    chattr("+a", side)
    try:
        with pytest.raises(WriteError, match="not permitted"):
            writer.write(img, verdict(), analyzers=ANALYZERS)
    finally:
        chattr("-a", side)
    assert side.read_bytes() == (FIXTURES / "darktable.xmp").read_bytes()
    assert sorted(os.listdir(tmp_path)) == ["a.jpg", "a.jpg.xmp"]


@pytest.mark.parametrize("content", [b"this is not XML\n", (FIXTURES / "darktable.xmp").read_bytes()[:1500]])
def test_a_corrupt_sidecar_raises_write_error_and_keeps_its_bytes(tmp_path, writer, content):
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    side.write_bytes(content)
    with pytest.raises(WriteError, match="unreadable"):
        writer.write(img, verdict(), analyzers=ANALYZERS)
    assert side.read_bytes() == content and sorted(os.listdir(tmp_path)) == ["a.jpg", "a.jpg.xmp"]


def test_a_stale_temp_file_of_a_killed_run_is_cleaned_up(tmp_path, writer):
    img = photo(tmp_path, "a.jpg")
    (tmp_path / ".a.jpg.xmp.keepers-999999999-0badcafe.tmp").write_bytes(b"<x:xmpmeta")  # no such process
    writer.write(img, verdict(), analyzers=ANALYZERS)
    assert sorted(os.listdir(tmp_path)) == ["a.jpg", "a.jpg.xmp"]


def test_permissions_are_kept_and_a_symlinked_sidecar_stays_a_link(tmp_path, writer):
    img = photo(tmp_path, "a.jpg")
    real = tmp_path / "store" / "a.xmp"
    real.parent.mkdir()
    shutil.copy(FIXTURES / "foreign.xmp", real)
    real.chmod(0o640)
    (tmp_path / "a.jpg.xmp").symlink_to(real)
    writer.write(img, verdict(), analyzers=ANALYZERS)
    assert (tmp_path / "a.jpg.xmp").is_symlink() and oct(real.stat().st_mode & 0o777) == "0o640"
    assert read_sidecar(tmp_path / "a.jpg.xmp")["rating"] == 4


def _exiv2(path: Path) -> tuple[str, set[str], set[str]]:
    rows = {}
    for line in subprocess.run(["exiv2", "-px", str(path)], capture_output=True, text=True).stdout.splitlines():
        key, _type, _n, *value = line.split(None, 3)
        rows[key] = value[0] if value else ""
    return (rows["Xmp.xmp.Rating"], set(rows["Xmp.dc.subject"].split(", ")),
            set(rows["Xmp.lr.hierarchicalSubject"].split(", ")))


def _exempi(path: Path) -> tuple[str, set[str], set[str]]:
    out = subprocess.run(["exempi", "-X", "-x", str(path)], capture_output=True, text=True).stdout
    root = ElementTree.fromstring(out[out.index("<"):])
    ns = {"xmp": "http://ns.adobe.com/xap/1.0/", "dc": "http://purl.org/dc/elements/1.1/",
          "lr": "http://ns.adobe.com/lightroom/1.0/", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
    rating = root.find(".//xmp:Rating", ns)
    rating = rating.text if rating is not None else root.find(".//rdf:Description[@xmp:Rating]", ns).get(
        f"{{{ns['xmp']}}}Rating")
    return (rating, {li.text for li in root.findall(".//dc:subject//rdf:li", ns)},
            {li.text for li in root.findall(".//lr:hierarchicalSubject//rdf:li", ns)})


@pytest.mark.skipif(not (shutil.which("exiv2") and shutil.which("exempi")), reason="needs exiv2 and exempi")
@pytest.mark.parametrize("fixture", [None, "darktable", "lightroom"])
def test_exiv2_and_exempi_read_the_rating_and_keywords_exiftool_wrote(tmp_path, writer, fixture):
    img = photo(tmp_path, "été 🌅.jpg")
    if fixture:
        shutil.copy(FIXTURES / f"{fixture}.xmp", tmp_path / "été 🌅.jpg.xmp")
    side = writer.write(img, verdict(stars=3, keywords=["animal|bird", "scène|plage"]), analyzers=ANALYZERS).sidecar
    s = read_sidecar(side)
    expected = (str(s["rating"]), set(s["keywords"]), set(s["hierarchical"]))
    assert {"bird", "plage"} <= expected[1] and {"Keepers|animal|bird", "Keepers|scène|plage"} <= expected[2]
    assert _exiv2(side) == expected
    assert _exempi(side) == expected


def test_odd_unicode_photo_names_work(tmp_path, writer):
    img = photo(tmp_path, "été 🌅 «1».jpg")
    res = writer.write(img, verdict(reasons=[Reason("exposure", "Sous-exposée — trop sombre", 0.5, 1.0)]),
                       analyzers=ANALYZERS)
    assert res.sidecar == tmp_path / "été 🌅 «1».jpg.xmp" and res.sidecar.exists()
    s = read_sidecar(res.sidecar)
    assert s["reasons"] == ["exposure (-1.0): Sous-exposée — trop sombre"] and s["rating"] == 4
    assert sidecar_for(img) == res.sidecar
    with pytest.raises(WriteError, match="line breaks"):  # exiftool takes its arguments one per line
        writer.write(photo(tmp_path, "two\nlines.jpg"), verdict(), analyzers=ANALYZERS)


@pytest.mark.parametrize("tag,value", [("-XMP-xmp:Rating=4", 4.0), ("-IFD0:Rating=3", 3.0), (None, 0.0)])
def test_the_loader_reads_the_photos_own_rating_as_exiftool_does(tmp_path, tag, value):
    """The pipeline hands the loader's reading to the writer instead of a second exiftool call per new sidecar."""
    from keepers.core.io.loader import load
    from keepers.core.types import Photo

    img = photo(tmp_path, "rated.jpg")
    if tag:
        subprocess.run(["exiftool", "-q", "-overwrite_original", tag, str(img)], check=True)
    assert load(Photo(str(img), "jpeg"), 256).meta.rating == value
    assert (photo_rating(et_proc.get(), img) or 0.0) == value


def test_a_rating_handed_over_by_the_loader_is_kept_like_one_exiftool_found(tmp_path, writer):
    from keepers.core.io.loader import load
    from keepers.core.types import Photo

    img = photo(tmp_path, "rated.jpg")
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=5", str(img)], check=True)
    rating = load(Photo(str(img), "jpeg"), 256).meta.rating
    res = writer.write(img, verdict(stars=1), analyzers=ANALYZERS, embedded_rating=rating)
    assert not res.rating_written and read_sidecar(res.sidecar)["rating"] == 5  # copied from the photo's XMP
    plain = photo(tmp_path, "plain.jpg")
    res = writer.write(plain, verdict(stars=2), analyzers=ANALYZERS, embedded_rating=load(Photo(str(plain), "jpeg"), 256).meta.rating)
    assert res.rating_written and read_sidecar(res.sidecar)["rating"] == 2


def test_a_batch_reads_its_folder_once_and_finds_the_same_sidecars_as_single_writes(tmp_path, monkeypatch):
    """A day's shoot is one folder of thousands of files: a run's write-back lists it once, not per photo, and
    still honours every naming rule (case variants, a Lightroom sidecar of a RAW+JPEG pair, a killed run's temp)."""
    photos = [photo(tmp_path, n) for n in ("IMG_1.jpg", "IMG_2.jpg", "IMG_3.NEF", "IMG_4.CR3", "IMG_4.JPG", "new.jpg")]
    for side in ("IMG_1.JPG.xmp", "IMG_2.jpg.XMP", "IMG_3.XMP"):
        (tmp_path / side).write_bytes((FIXTURES / "darktable.xmp").read_bytes())
    shutil.copy(FIXTURES / "lightroom.xmp", tmp_path / "IMG_4.xmp")  # the raw's
    (tmp_path / ".new.jpg.xmp.keepers-999999999-0badcafe.tmp").write_bytes(b"<x:xmpmeta")  # no such process
    for i in range(300):  # the rest of the shoot
        (tmp_path / f"DSC_{i:04d}.jpg").touch()
    expected = [sidecar_for(p) for p in photos]
    listed = []
    real = os.listdir
    monkeypatch.setattr(os, "listdir", lambda folder: listed.append(folder) or real(folder))
    with SidecarWriter(cache_folders=True) as batch:
        written = [batch.write(p, verdict(), analyzers=ANALYZERS).sidecar for p in photos]
        assert batch.write(photos[-1], verdict(), analyzers=ANALYZERS).sidecar == written[-1]  # its own new one
    assert written == expected and len(listed) == 1
    sidecars = sorted(p.name for p in tmp_path.iterdir() if p.suffix.casefold() == ".xmp" or p.name.endswith(".tmp"))
    assert sidecars == sorted(["IMG_1.JPG.xmp", "IMG_2.jpg.XMP", "IMG_3.XMP", "IMG_4.xmp", "IMG_4.JPG.xmp",
                               "new.jpg.xmp"])  # no second sidecar, and the dead run's temp file is gone


# --- the photo's own XMP is the photographer's ----------------------------------------------------------------

def embed_xmp(img: Path, *assignments: str) -> None:
    """The photographer's DAM wrote these into the photo itself (digiKam, Lightroom and Bridge embed XMP in JPEGs)."""
    subprocess.run(["exiftool", "-config", str(et_proc.CONFIG), "-q", "-overwrite_original", *assignments, str(img)],
                   check=True)


DIGIKAM_EMBEDDED = ("-XMP-digiKam:PickLabel=1", "-XMP-digiKam:ColorLabel=5", "-XMP-xmp:Label=Blue",
                    "-XMP-xmp:Rating=2", "-XMP-digiKam:TagsList=People/Anna", "-XMP-lr:HierarchicalSubject=People|Anna",
                    "-XMP-dc:Subject=Anna", "-XMP-dc:Title=Anna at the lake")


@pytest.mark.parametrize("host", ["digikam", "generic"])
def test_a_new_sidecar_keeps_the_labels_rating_and_keywords_inside_the_photo(tmp_path, writer, host):
    """digiKam set to read sidecars ignores the XMP inside the photo: a first sidecar without the photographer's
    labels showed a rejected photo as Accepted and lost People/Anna (issue 20)."""
    from keepers.core.io.hosts import adapter_for

    img = photo(tmp_path, "anna.jpg")
    embed_xmp(img, *DIGIKAM_EMBEDDED)
    photo_before = img.read_bytes()
    pick = verdict(stars=4, keywords=["animal|cat", "group|pick"], group="b1", pick=True)  # accepted, green
    res = writer.write(img, pick, analyzers=ANALYZERS, host=adapter_for(None, host))
    assert res.created and img.read_bytes() == photo_before
    t = tags(res.sidecar)
    assert (t["XMP-digiKam:PickLabel"], t["XMP-digiKam:ColorLabel"], t["XMP-xmp:Label"]) == (1, 5, "Blue")
    assert t["XMP-xmp:Rating"] == 2 and not res.rating_written and res.properties == []
    assert t["XMP-dc:Title"] == "Anna at the lake"  # what Keepers does not manage comes along too
    assert t["XMP-lr:HierarchicalSubject"][0] == "People|Anna" and "Keepers|animal|cat" in t["XMP-lr:HierarchicalSubject"]
    assert t["XMP-dc:Subject"][0] == "Anna"
    if host == "digikam":
        assert t["XMP-digiKam:TagsList"] == ["People/Anna", "Keepers/animal/cat", "Keepers/group/pick"]
    # the photographer changes nothing, Keepers' verdict changes: still nothing of theirs is touched
    again = writer.write(img, verdict(stars=-1, verdict="bad", keywords=["flaw|motion blur"]), analyzers=ANALYZERS,
                         host=adapter_for(None, host))
    t = tags(again.sidecar)
    assert (t["XMP-digiKam:PickLabel"], t["XMP-digiKam:ColorLabel"], t["XMP-xmp:Label"], t["XMP-xmp:Rating"]) == \
        (1, 5, "Blue", 2)
    assert "People|Anna" in t["XMP-lr:HierarchicalSubject"] and "Keepers|animal|cat" not in t["XMP-lr:HierarchicalSubject"]


def test_an_existing_sidecar_without_a_label_leaves_the_label_inside_the_photo_alone(tmp_path, writer):
    """A sidecar another program made (no colour label) beside a JPEG whose own XMP has Blue: a Keepers reject's
    red would contradict the photographer."""
    img = photo(tmp_path, "IMG_9.jpg")
    embed_xmp(img, "-XMP-xmp:Label=Blue")
    side = tmp_path / "IMG_9.jpg.xmp"
    shutil.copy(FIXTURES / "foreign.xmp", side)
    assert read_sidecar(side)["label"] is None  # the other program set none
    res = writer.write(img, verdict(stars=-1, verdict="bad"), analyzers=ANALYZERS)
    assert read_sidecar(side)["label"] is None and res.properties == []
    plain = photo(tmp_path, "IMG_10.jpg")  # the same without a label inside the photo: Keepers' red goes in
    shutil.copy(FIXTURES / "foreign.xmp", tmp_path / "IMG_10.jpg.xmp")
    assert writer.write(plain, verdict(stars=-1, verdict="bad"), analyzers=ANALYZERS).properties == ["xmp:Label=Red"]


def test_a_new_sidecar_takes_no_develop_settings_from_the_photo(tmp_path, writer):
    """A JPEG darktable exported carries its history; darktable applies a sidecar's history on import, so a copy in
    the sidecar would edit the photo twice. Camera Raw's settings stay in the photo too. Its colour labels come."""
    from keepers.core.io.hosts import adapter_for

    img = photo(tmp_path, "exported.jpg")
    packet = tmp_path / "exported.xmp"  # darktable's whole packet, history and all (no <?xml?>: not in a JPEG)
    packet.write_bytes(b"".join((FIXTURES / "darktable.xmp").read_bytes().splitlines(True)[1:]))
    embed_xmp(img, f"-XMP<={packet}")
    packet.unlink()
    embed_xmp(img, "-XMP-crs:Exposure2012=+1.0", "-XMP-xmp:Label=")
    assert "darktable:history" in subprocess.run(["exiftool", "-b", "-XMP", str(img)], capture_output=True,
                                                 text=True).stdout
    res = writer.write(img, verdict(stars=-1, verdict="bad"), analyzers=ANALYZERS, host=adapter_for(None, "darktable"))
    packet = res.sidecar.read_text()
    assert "darktable:history" not in packet and "darktable:xmp_version" not in packet and "crs:" not in packet
    t = tags(res.sidecar)
    assert t["XMP-darktable:Colorlabels"] == [2, 0]  # the photographer's green, Keepers' red for a reject
    assert t["XMP-xmp:Rating"] == 2 and t["XMP-lr:HierarchicalSubject"][:2] == ["places|Norway", "fjord"]
    assert "XMP-crs:Exposure2012" in tags(img)  # the photo itself is not touched


def test_a_photo_the_loader_saw_without_xmp_costs_no_exiftool_command_to_read_it(tmp_path, writer, monkeypatch):
    from keepers.core.io import xmp_sidecar
    from keepers.core.io.loader import load
    from keepers.core.types import Photo

    img = photo(tmp_path, "plain.jpg")
    tagged = photo(tmp_path, "tagged.jpg")
    embed_xmp(tagged, "-XMP-xmp:Label=Blue")
    assert load(Photo(str(img), "jpeg"), 256).meta.xmp is False
    assert load(Photo(str(tagged), "jpeg"), 256).meta.xmp is True
    read = []
    real = xmp_sidecar.photo_xmp  # as SidecarWriter.write reads the photo's XMP
    monkeypatch.setattr(xmp_sidecar, "photo_xmp", lambda et, p: read.append(p.name) or real(et, p))
    writer.write(img, verdict(), analyzers=ANALYZERS, embedded_rating=0.0, embedded_xmp=False)
    writer.write(tagged, verdict(), analyzers=ANALYZERS, embedded_rating=0.0, embedded_xmp=True)
    assert read == ["tagged.jpg"] and read_sidecar(tmp_path / "tagged.jpg.xmp")["label"] == "Blue"


# --- --embed: the verdict inside the file, for a host that reads no sidecar for it ------------------------------

def test_embed_writes_into_the_photo_keeping_its_pixels_exif_and_the_photographers_values(tmp_path, writer):
    img = photo(tmp_path, "IMG_1.jpg")
    embed_xmp(img, "-EXIF:Make=Canon", "-XMP-xmp:Rating=2", "-XMP-xmp:Label=Blue",
              "-XMP-lr:HierarchicalSubject=People|Anna", "-XMP-crs:Exposure2012=+1.0")
    pixels = Image.open(img).tobytes()
    res = writer.embed(img, verdict(stars=-1, verdict="bad", keywords=["flaw|motion blur"]), analyzers=ANALYZERS,
                       host=LIGHTROOM)
    t = tags(img)
    assert res.sidecar == img and t["XMP-keepers:Verdict"] == "bad" and t["IFD0:Make"] == "Canon"
    assert (t["XMP-xmp:Rating"], t["XMP-xmp:Label"], t["XMP-crs:Exposure2012"]) == (2, "Blue", "+1.0")
    assert t["XMP-lr:HierarchicalSubject"] == ["People|Anna", "Keepers|flaw|motion blur"]
    assert Image.open(img).tobytes() == pixels
    assert sorted(os.listdir(tmp_path)) == ["IMG_1.jpg"]  # no sidecar, no temp file, no original unless asked
    plain = photo(tmp_path, "IMG_2.jpg")
    res = writer.embed(plain, verdict(stars=-1, verdict="bad"), analyzers=ANALYZERS, host=LIGHTROOM)
    assert res.rating_written and (tags(plain)["XMP-xmp:Rating"], tags(plain)["XMP-xmp:Label"]) == (-1, "Red")
    # Keepers' own values inside the file are Keepers' to change on the next run
    res = writer.embed(plain, verdict(stars=4), analyzers=ANALYZERS, host=LIGHTROOM)
    assert res.rating_written and tags(plain)["XMP-xmp:Rating"] == 4 and "XMP-xmp:Label" not in tags(plain)


def test_embed_keeps_the_original_only_when_asked(tmp_path, writer):
    img = photo(tmp_path, "IMG_1.tif")
    Image.open(io.BytesIO(_JPEG[0])).save(img, "TIFF")
    before = img.read_bytes()
    writer.embed(img, verdict(), analyzers=ANALYZERS, host=LIGHTROOM, keep_original=True)
    assert (tmp_path / "IMG_1.tif_original").read_bytes() == before and img.read_bytes() != before
    assert tags(img)["XMP-keepers:Verdict"] == "good"
    writer.embed(img, verdict(stars=2), analyzers=ANALYZERS, host=LIGHTROOM, keep_original=True)
    assert (tmp_path / "IMG_1.tif_original").read_bytes() == before  # the first original, not the one in between


def test_a_failed_embed_leaves_the_photo_as_it_was(tmp_path, writer, monkeypatch):
    img = photo(tmp_path, "broken.jpg")
    img.write_bytes(b"not a JPEG at all\n" * 100)  # exiftool will not write into it
    with pytest.raises(WriteError):
        writer.embed(img, verdict(), analyzers=ANALYZERS, host=LIGHTROOM)
    assert img.read_bytes() == b"not a JPEG at all\n" * 100 and os.listdir(tmp_path) == ["broken.jpg"]
    good = photo(tmp_path, "good.jpg")
    before = good.read_bytes()
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(WriteError, match="No space left"):
        writer.embed(good, verdict(), analyzers=ANALYZERS, host=LIGHTROOM)
    assert good.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["broken.jpg", "good.jpg"]
    monkeypatch.undo()
    locked = photo(tmp_path, "locked.jpg")
    locked.chmod(0o444)
    with pytest.raises(WriteError, match="photo is read-only"):
        writer.embed(locked, verdict(), analyzers=ANALYZERS, host=LIGHTROOM)


# --- macOS and Windows: the POSIX-only calls have fallbacks (CI is Linux: the fallbacks run here) ---------------

def test_without_fchmod_fchown_and_getuid_permissions_are_still_kept(tmp_path, writer, monkeypatch):
    """Windows' os has no fchmod, fchown nor getuid."""
    img = photo(tmp_path, "a.jpg")
    side = tmp_path / "a.jpg.xmp"
    shutil.copy(FIXTURES / "foreign.xmp", side)
    side.chmod(0o640)
    for name in ("fchmod", "fchown", "getuid"):
        monkeypatch.delattr(os, name)
    writer.write(img, verdict(), analyzers=ANALYZERS)
    assert oct(side.stat().st_mode & 0o777) == "0o640" and read_sidecar(side)["score"] == 7.4


def test_the_temp_file_is_opened_binary_where_the_system_has_text_mode(tmp_path, writer, monkeypatch):
    """Windows' os.open writes \\n as \\r\\n unless O_BINARY is given."""
    monkeypatch.setattr(os, "O_BINARY", 0o100000, raising=False)  # O_LARGEFILE on Linux: harmless here
    flags = []
    real = os.open
    monkeypatch.setattr(os, "open", lambda path, fl, *a: flags.append(fl) or real(path, fl, *a))
    writer.write(photo(tmp_path, "a.jpg"), verdict(), analyzers=ANALYZERS)
    assert flags and all(f & 0o100000 for f in flags)


def test_on_windows_a_sidecar_held_open_by_another_program_is_replaced_once_it_is_let_go(tmp_path, writer,
                                                                                         monkeypatch):
    from keepers.core.io import xmp_files

    img = photo(tmp_path, "a.jpg")
    side = writer.write(img, verdict(stars=2), analyzers=ANALYZERS).sidecar
    monkeypatch.setattr(xmp_files, "WINDOWS", True)
    real, calls = os.replace, []

    def busy_twice(src, dst):  # a DAM reading the sidecar: ERROR_SHARING_VIOLATION, then it lets go
        calls.append(dst)
        if len(calls) <= 2:
            raise PermissionError(13, "The process cannot access the file because it is being used")
        real(src, dst)

    monkeypatch.setattr(os, "replace", busy_twice)
    writer.write(img, verdict(stars=3), analyzers=ANALYZERS)
    assert len(calls) == 3 and read_sidecar(side)["rating"] == 3
    before = side.read_bytes()
    monkeypatch.setattr(os, "replace", lambda src, dst: (_ for _ in ()).throw(PermissionError(13, "in use")))
    with pytest.raises(WriteError, match="in use"):
        writer.write(img, verdict(stars=4), analyzers=ANALYZERS)
    assert side.read_bytes() == before and sorted(os.listdir(tmp_path)) == ["a.jpg", "a.jpg.xmp"]


def test_on_windows_no_process_is_probed_and_only_old_temp_files_count_as_stale(tmp_path, writer, monkeypatch):
    """os.kill(pid, 0) on Windows terminates the process with that id; a killed run's temp file is known by its age."""
    from keepers.core.io import xmp_files

    monkeypatch.setattr(xmp_files, "WINDOWS", True)
    monkeypatch.setattr(os, "kill", lambda *a: pytest.fail("os.kill called on Windows"))
    img = photo(tmp_path, "a.jpg")
    old = tmp_path / ".a.jpg.xmp.keepers-999999999-0badcafe.tmp"
    fresh = tmp_path / ".a.jpg.xmp.keepers-999999998-0badcafe.tmp"  # perhaps a run writing now
    for t in (old, fresh):
        t.write_bytes(b"<x:xmpmeta")
    os.utime(old, (0, 0))
    writer.write(img, verdict(), analyzers=ANALYZERS)
    assert sorted(os.listdir(tmp_path)) == [fresh.name, "a.jpg", "a.jpg.xmp"]


def test_on_windows_a_folders_read_only_attribute_does_not_refuse_the_write(tmp_path, monkeypatch):
    """Explorer sets the read-only attribute on customised folders (Pictures); files are still written in them."""
    from keepers.core.io import xmp_files

    folder = tmp_path / "Pictures"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(WriteError, match="read-only"):
            xmp_files.check_writable(folder / "a.jpg.xmp", False)
        monkeypatch.setattr(xmp_files, "WINDOWS", True)
        xmp_files.check_writable(folder / "a.jpg.xmp", False)
    finally:
        folder.chmod(0o755)


def test_a_keepers_keyword_the_photographer_deleted_is_not_added_again(tmp_path, writer):
    """Keepers tagged a photo "bird"; the photographer deleted the keyword (from both lists, as Lightroom, darktable
    and digiKam do). The next cull still predicts a bird: the keyword stays deleted, Keepers' other keywords still
    follow its verdict."""
    img = photo(tmp_path, "IMG_8.jpg")
    side = writer.write(img, verdict(keywords=["animal|bird", "quality|sharp"]), analyzers=ANALYZERS).sidecar
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-dc:Subject-=bird",
                    "-XMP-lr:HierarchicalSubject-=Keepers|animal|bird", str(side)], check=True)
    for quality in ("quality|soft", "quality|sharp"):
        res = writer.write(img, verdict(keywords=["animal|bird", quality]), analyzers=ANALYZERS)
        s = read_sidecar(side)
        leaf = quality.split("|")[1]
        assert s["keywords"] == [leaf] and s["hierarchical"] == [f"Keepers|{quality}"]
        assert "bird" not in res.keywords_added and sorted(s["keywords_added"]) == [f"Keepers|{quality}", leaf]
        assert {"bird", "Keepers|animal|bird"} <= set(s["overruled"])
