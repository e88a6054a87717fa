"""New sidecars written without exiftool (keepers.core.io.xmpnew) have exactly the bytes exiftool writes."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from keepers.core.io import exiftool as et_proc
from keepers.core.io import xmp, xmpnew
from keepers.core.io.hosts import adapter_for
from keepers.core.io.xmp import SidecarWriter
from keepers.core.types import Reason, Verdict
from test_xmp import photo

pytestmark = pytest.mark.skipif(not et_proc.available(), reason="needs exiftool")
NOW = "2026:12:07 00:40:00+01:00"
ANALYZERS = {"sharpness": "2", "quality": "8.f0850431.0c6a05d1", "tags": "1.general"}


def verdicts() -> list[Verdict]:
    """A keeper, a reject and a burst's pick, with what a message may hold: quotes, ampersands, angle brackets,
    backslashes, accents, emoji, characters of other scripts."""
    odd = Reason("misfire", 'A "finger" & <strap> over the frame\'s corner \\ (ü, 日本, 🙂)', 0.9, 4.2)
    return [
        Verdict(score=8.37, verdict="good", confidence=0.912, stars=4, keywords=["animal|bird", "place|café"],
                reasons=[Reason("noise", "Visible noise in the shadows", 0.3, 0.4)], judged_by="quality/landscape"),
        Verdict(score=1.0, verdict="bad", confidence=0.998, stars=-1, keywords=["flaw|out of focus", "texture|a&b"],
                reasons=[Reason("out_of_focus", "Out of focus: no sharp detail anywhere", 1.0, 5.0), odd],
                judged_by="quality/other"),
        Verdict(score=6.5, verdict="good", confidence=0.5, stars=3, keywords=[], reasons=[], group="g-3f2a",
                pick=True, judged_by="portrait"),
    ]


def write_both(tmp_path: Path, host: str, v: Verdict, monkeypatch) -> tuple[bytes, bytes, list]:
    """(exiftool's sidecar, the one written without it, exiftool processes the second write started)."""
    monkeypatch.setattr(xmp, "_now", lambda: NOW)
    out = []
    for name, native in (("by_exiftool", False), ("native", True)):
        folder = tmp_path / name
        folder.mkdir()
        img = photo(folder, "IMG_0001.CR2" if host == "lightroom" else "IMG_0001.jpg")
        monkeypatch.setattr(xmpnew, "ready", (lambda: "Image::ExifTool 12.57") if native else (lambda: None))
        # a thread of its own, as the pipeline's writers: whether it had to start an exiftool is seen in _all
        t = threading.Thread(target=lambda: SidecarWriter().write(
            img, v, analyzers=ANALYZERS, host=adapter_for(None, host), embedded_rating=0, embedded_xmp=False))
        t.start()
        t.join()
        side = next(folder.glob("*.xmp"))
        out.append((side.read_bytes(), [x for x in et_proc._all if x[0] is t]))
    monkeypatch.undo()
    if (ver := xmpnew.ready()) != "Image::ExifTool 12.57":
        pytest.skip(f"the expected bytes are exiftool 12.57's; this exiftool is {ver or 'not the same'}")
    return out[0][0], out[1][0], out[1][1]


@pytest.mark.parametrize("host", ["generic", "lightroom", "darktable", "digikam"])
@pytest.mark.parametrize("which", [0, 1, 2])
def test_a_new_sidecar_written_without_exiftool_has_exactly_exiftools_bytes(tmp_path, monkeypatch, host, which):
    theirs, mine, started = write_both(tmp_path, host, verdicts()[which], monkeypatch)
    assert mine == theirs
    assert started == []  # no exiftool was asked


def test_a_value_exiftool_would_change_or_refuse_is_left_to_exiftool():
    good = ["-XMP-keepers:Score=7.3", "-XMP-keepers:AnalyzedAt=" + NOW]
    assert xmpnew.render(good, "Image::ExifTool 12.57") is not None
    for bad in ("-XMP-keepers:Score=nan", "-XMP-keepers:Stars=3.5", "-XMP-keepers:Pick=true",
                "-XMP-keepers:AnalyzedAt=2026-12-07T00:40:00", "-XMP-keepers:Verdict=a\x01b",
                "-XMP-keepers:Reasons=a\x1f\x1fb", "-XMP-keepers:Unknown=1", "-XMP-xmp:Label+=Red",
                "-XMP-keepers:Score=7.4"):  # the last: set twice
        assert xmpnew.render([*good, bad], "Image::ExifTool 12.57") is None, bad


class _Exiftool:
    """exiftool 12.57's answer to the probe, as another version might give it."""

    def __init__(self, change):
        self.change, self.last_status, self.last_stderr = change, 0, b""

    def execute(self, *args, raw_bytes=True):
        return self.change(xmpnew.render(xmpnew.PROBE, "Image::ExifTool 12.57"))


@pytest.mark.parametrize("change,ready", [
    (lambda b: b.replace(b"12.57", b"13.10"), "Image::ExifTool 13.10"),  # another version, the same layout
    (lambda b: b.replace(b"12.57", b"13.10").replace(b"\n <rdf:Desc", b"\n<rdf:Desc"), None),  # laid out otherwise
])
def test_sidecars_are_written_without_exiftool_only_where_it_was_shown_to_write_the_same(monkeypatch, change, ready):
    monkeypatch.setattr(xmpnew, "_state", {})
    monkeypatch.setattr(et_proc, "get", lambda: _Exiftool(change))
    assert xmpnew.ready() == ready


def test_a_culls_sidecars_and_records_are_the_same_as_exiftool_writes_them(demo_run, tmp_path, monkeypatch):
    """The demo's photos (judged once by the real command) written back again by a cull, with and without exiftool
    writing the new sidecars: the same records, the same bytes in every sidecar."""
    from keepers.core.io.catalog import Catalog
    from keepers.core.pipeline import Cull
    from keepers.core.settings import Settings

    folder, _, _, tmp = demo_run
    monkeypatch.setattr(xmp, "_now", lambda: NOW)
    out = {}
    native = xmpnew.ready()
    for name, toolkit in (("by_exiftool", None), ("native", native)):
        monkeypatch.setattr(xmpnew, "ready", lambda toolkit=toolkit: toolkit)
        started = []
        monkeypatch.setattr(et_proc, "get", lambda get=et_proc.get: started.append(1) or get())
        photos = tmp_path / name / "photos"
        shutil.copytree(folder, photos, ignore=shutil.ignore_patterns("*.xmp"))
        shutil.copy(tmp / "xdg_data_home" / "keepers" / "catalog.db", tmp_path / name / "catalog.db")
        settings = Settings(catalog=tmp_path / name / "catalog.db")
        cull = Cull(settings, Catalog(settings.catalog))
        records = [r.record() for r in cull.run([str(photos)])]
        assert cull.stats["written"] == len(records) > 10
        assert bool(started) == (toolkit is None)  # without exiftool: none was asked for anything
        out[name] = ([{**r, "path": os.path.basename(r["path"]), "files": None, "sidecars": None} for r in records],
                     {p.name: p.read_bytes() for p in photos.glob("*.xmp")})
    assert out["native"] == out["by_exiftool"]
