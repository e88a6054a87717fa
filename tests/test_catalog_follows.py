"""The catalog follows the photos: a culled folder that is moved or copied is not analysed again, a moved one's
sidecars are not rewritten, its group ids stay, and search never returns a file that is gone. Real culls of real
photos (scikit-image samples) with real exiftool and the real models."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from conftest import sample_rgb
from helpers import keepers, records
from keepers.core.io import exiftool

pytestmark = pytest.mark.skipif(not exiftool.available(), reason="needs exiftool on PATH")


@pytest.fixture
def shoot(tmp_path, write_jpeg):
    """Four frames, two of them one photo saved twice (a group of duplicates)."""
    write_jpeg(sample_rgb("coffee"), "shoot/coffee.jpg")
    write_jpeg(sample_rgb("chelsea"), "shoot/chelsea.jpg")
    write_jpeg(sample_rgb("chelsea"), "shoot/chelsea_again.jpg", quality=80)
    write_jpeg(sample_rgb("rocket"), "shoot/rocket.jpg")
    return tmp_path / "shoot"


def sidecars(folder: Path) -> dict[str, tuple[int, bytes]]:
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.glob("*.xmp"))}


def settings_for(tmp_path: Path):
    from keepers.core.settings import Settings

    return Settings(catalog=tmp_path / "catalog.db")


def test_a_culled_folder_moved_and_culled_again_is_not_analysed_and_its_sidecars_are_not_rewritten(shoot, tmp_path):
    first = records(keepers("cull", "--json", shoot, tmp=tmp_path))
    assert len(first) == 4 and all(r["error"] is None for r in first.values())
    assert first["chelsea.jpg"]["group"] and first["chelsea.jpg"]["group"] == first["chelsea_again.jpg"]["group"]
    moved = Path(shutil.move(shoot, tmp_path / "archive" / "2024 shoot"))
    before = sidecars(moved)
    assert len(before) == 4  # the sidecars travelled with the photos

    again = keepers("cull", moved, tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    assert re.search(r"analysed now / from catalog\W+0 / 4\b", again.stdout), again.stdout
    assert re.search(r"sidecars written\W+0\b", again.stdout), again.stdout
    assert sidecars(moved) == before  # not even touched

    after = records(keepers("cull", "--json", moved, tmp=tmp_path))
    # the same judgements, and the same group ids: they name the frames, not the folder they are in
    for name, r in first.items():
        assert {k: after[name][k] for k in ("score", "stars", "group", "pick")} == \
               {k: r[k] for k in ("score", "stars", "group", "pick")}, name
    found = keepers("search", "--json", "-k", "10", "cat", tmp=tmp_path)
    paths = [json.loads(line)["path"] for line in found.stdout.splitlines()]
    assert paths and all(os.path.exists(p) and p.startswith(str(moved)) for p in paths), paths


def test_a_copied_folder_is_not_analysed_and_gets_the_sidecars_it_lacks(shoot, tmp_path):
    from keepers.core.commands.cull import run_cull

    settings = settings_for(tmp_path)
    original, _ = run_cull([str(shoot)], settings, quiet=True)
    copy = Path(shutil.copytree(shoot, tmp_path / "backup"))
    for xmp in copy.glob("*.xmp"):
        xmp.unlink()
    results, stats = run_cull([str(copy)], settings, quiet=True)
    assert stats["analyzed"] == 0 and stats["from_catalog"] == 4
    assert stats["written"] == 4 and len(list(copy.glob("*.xmp"))) == 4
    judged = {Path(r.photo.path).name: (r.verdict.score, r.verdict.stars, r.verdict.group) for r in original}
    assert {Path(r.photo.path).name: (r.verdict.score, r.verdict.stars, r.verdict.group) for r in results} == judged
    assert (shoot / "coffee.jpg.xmp").exists()  # the original keeps its own row and sidecars
    again, _ = run_cull([str(shoot)], settings, quiet=True)
    assert all(not r.analyzed for r in again)


def test_search_and_similar_never_return_a_photo_that_was_moved_or_deleted(shoot, tmp_path, capsys):
    from keepers import cli
    from keepers.core.commands.cull import run_cull

    settings = settings_for(tmp_path)
    run_cull([str(shoot)], settings, quiet=True)
    backup = Path(shutil.copytree(shoot, tmp_path / "backup"))
    run_cull([str(backup)], settings, quiet=True)

    def hits(*args) -> list[dict]:
        capsys.readouterr()
        assert cli.main([*args, "--json", "-k", "10", "--catalog", str(settings.catalog)]) == 0
        return [json.loads(line) for line in capsys.readouterr().out.splitlines()]

    # the same frame in shoot/ and backup/ is one hit, its other path listed as a copy
    listed = hits("search", "a cup of coffee")
    names = [Path(h["path"]).name for h in listed]
    assert len(names) == len(set(names)) == 4  # chelsea re-saved is another file, so another hit
    assert all(len(h["copies"]) == 1 for h in listed)

    moved = Path(shutil.move(shoot, tmp_path / "moved"))  # moved, not culled since
    (backup / "rocket.jpg").unlink()
    for query in (("search", "a cup of coffee"), ("search", "cat"), ("similar", str(backup / "chelsea.jpg"))):
        for h in hits(*query):
            for p in [h["path"], *h["copies"]]:
                assert os.path.exists(p), (query, p)
                assert not p.startswith(str(shoot) + os.sep), (query, p)
    assert "rocket.jpg" not in [Path(h["path"]).name for h in hits("search", "rocket")]
    # the moved folder's rows were kept (marked): culling it finds them, and it is searched again
    _, stats = run_cull([str(moved)], settings, quiet=True)
    assert stats["analyzed"] == 0
    assert any(h["path"].startswith(str(moved)) or any(c.startswith(str(moved)) for c in h["copies"])
               for h in hits("search", "a cup of coffee"))


def test_an_unreadable_file_is_not_tried_again_until_it_changes(tmp_path, write_jpeg):
    from keepers.core.commands.cull import run_cull

    settings = settings_for(tmp_path)
    good = write_jpeg(sample_rgb("coffee"), "photos/coffee.jpg")
    broken = good.parent / "broken.jpg"
    broken.write_bytes(good.read_bytes()[:2000])  # a card error: the header and then nothing
    first, stats = run_cull([str(good.parent)], settings, quiet=True)
    error = {Path(r.photo.path).name: r.error for r in first}["broken.jpg"]
    assert error and stats["analyzed"] == 1
    again, stats = run_cull([str(good.parent)], settings, quiet=True)
    assert stats["errors"] == 1 and not any(r.analyzed for r in again)  # still reported, not decoded again
    assert {Path(r.photo.path).name: r.error for r in again}["broken.jpg"] == error
    write_jpeg(sample_rgb("chelsea"), "photos/broken.jpg")  # copied again from the card: it changed, so it is read
    fixed, stats = run_cull([str(good.parent)], settings, quiet=True)
    assert stats["errors"] == 0 and {Path(r.photo.path).name: r.analyzed for r in fixed} == \
           {"broken.jpg": True, "coffee.jpg": False}


def test_a_photo_deleted_from_a_culled_folder_is_marked_gone_by_the_next_cull_of_that_folder(shoot, tmp_path):
    from keepers.core.io.catalog import Catalog
    from keepers.core.commands.cull import run_cull

    settings = settings_for(tmp_path)
    run_cull([str(shoot)], settings, quiet=True)
    (shoot / "rocket.jpg").unlink()
    _, stats = run_cull([str(shoot)], settings, quiet=True)
    assert stats["analyzed"] == 0 and stats["photos"] == 3
    cat = Catalog(settings.catalog)
    try:
        gone = {cat.db.execute("SELECT path FROM photos WHERE id = ?", (i,)).fetchone()[0] for i in cat.missing_ids()}
        assert gone == {str(shoot / "rocket.jpg")}
    finally:
        cat.close()
