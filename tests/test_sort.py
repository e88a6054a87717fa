"""`keepers sort`: photos filed into good/ and bad/, sidecars and pairs together, nothing overwritten, undo."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import pytest

from conftest import sample_rgb
from helpers import keepers
from keepers.core.lab import distort


def tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file() and p.name != ".keepers-sort.json"}


@pytest.fixture
def shoot(tmp_path, write_jpeg):
    write_jpeg(sample_rgb("coffee"), "shoot/coffee.jpg")
    write_jpeg(distort.gaussian_blur(sample_rgb("chelsea"), 4), "shoot/chelsea_blurred.jpg")
    return tmp_path / "shoot"


def test_sort_copies_good_and_bad_photos_with_their_sidecars(shoot, tmp_path):
    proc = keepers("sort", shoot, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (shoot / "good" / "coffee.jpg").exists() and (shoot / "good" / "coffee.jpg.xmp").exists()
    assert (shoot / "bad" / "chelsea_blurred.jpg").exists() and (shoot / "bad" / "chelsea_blurred.jpg.xmp").exists()
    assert (shoot / "coffee.jpg").exists()  # a copy leaves the original


def test_sort_never_overwrites_a_file_already_in_good(shoot, tmp_path):
    (shoot / "good").mkdir()
    (shoot / "good" / "coffee.jpg").write_bytes(b"someone else's photo")
    keepers("sort", "--move", shoot, tmp=tmp_path)
    assert (shoot / "good" / "coffee.jpg").read_bytes() == b"someone else's photo"
    assert (shoot / "good" / "coffee-1.jpg").exists() and (shoot / "good" / "coffee-1.jpg.xmp").exists()


def test_a_move_can_be_undone_exactly(shoot, tmp_path):
    keepers("cull", shoot, tmp=tmp_path)  # sidecars exist before the sort
    before = tree(shoot)
    assert keepers("sort", "--move", shoot, tmp=tmp_path).returncode == 0
    assert not (shoot / "coffee.jpg").exists()
    undo = keepers("sort", "--undo", shoot, tmp=tmp_path)
    assert undo.returncode == 0, undo.stderr
    assert tree(shoot) == before and not (shoot / "good").exists()


def test_dry_run_sort_touches_nothing(shoot, tmp_path):
    keepers("cull", shoot, tmp=tmp_path)
    before = tree(shoot)
    proc = keepers("sort", "--move", "--dry-run", shoot, tmp=tmp_path)
    assert "would move coffee.jpg -> good/coffee.jpg" in proc.stdout
    assert tree(shoot) == before


def test_a_raw_and_jpeg_pair_travel_together(shoot, tmp_path, shared_data):
    dng = shared_data / "camera" / "photos" / "Blackmagic.dng"
    if not dng.exists():
        pytest.skip("no DNG in the shared data")
    os.link(dng, shoot / "coffee.dng")  # same stem as coffee.jpg: one frame
    keepers("sort", "--move", shoot, tmp=tmp_path)
    assert (shoot / "good" / "coffee.dng").exists() and (shoot / "good" / "coffee.jpg").exists()
    assert not (shoot / "coffee.dng").exists()


def test_planning_the_sort_of_a_3000_photo_folder_takes_a_moment_not_minutes(tmp_path):
    """Each photo's sidecar and each target name were found by scanning everything planned so far: 13 s for 3,000
    photos, growing with the square of a shoot's size. Every photo here has its sidecar, and every one is filed."""
    import time
    from types import SimpleNamespace as NS

    from keepers.core.commands.sort import plan

    results = []
    for i in range(3000):
        f = tmp_path / f"IMG_{i:04d}.JPG"
        f.touch()
        (tmp_path / f"IMG_{i:04d}.JPG.xmp").touch()
        results.append(NS(verdict=NS(verdict="good" if i % 3 else "bad"), photo=NS(files=[str(f)])))
    t0 = time.perf_counter()
    steps = plan(results, tmp_path)
    assert time.perf_counter() - t0 < 3.0
    assert len(steps) == 6000 and len({dst for _, dst in steps}) == 6000
    assert steps[1] == (tmp_path / "IMG_0000.JPG.xmp", tmp_path / "bad" / "IMG_0000.JPG.xmp")


def catalog_paths(tmp_path: Path) -> list[str]:
    from keepers.core.io.catalog import Catalog

    cat = Catalog(tmp_path / "xdg_data_home" / "keepers" / "catalog.db")
    try:
        return sorted(r[0] for r in cat.db.execute("SELECT path FROM photos"))
    finally:
        cat.close()


def test_the_catalog_follows_a_sort_and_its_undo_so_a_cull_afterwards_analyses_and_rewrites_nothing(shoot, tmp_path):
    assert keepers("sort", "--move", shoot, tmp=tmp_path).returncode == 0
    moved = catalog_paths(tmp_path)
    assert len(moved) == 2 and all(os.path.exists(p) and Path(p).parent.name in ("good", "bad") for p in moved)
    assert keepers("sort", "--undo", shoot, tmp=tmp_path).returncode == 0
    assert catalog_paths(tmp_path) == [str(shoot / "chelsea_blurred.jpg"), str(shoot / "coffee.jpg")]
    again = keepers("cull", shoot, tmp=tmp_path)
    assert re.search(r"analysed now / from catalog\W+0 / 2\b", again.stdout), again.stdout
    assert re.search(r"sidecars written\W+0\b", again.stdout), again.stdout


def test_sort_says_once_which_photos_it_left_in_place_and_why(shoot, tmp_path):
    good = (shoot / "coffee.jpg").read_bytes()
    (shoot / "card_error.jpg").write_bytes(good[:3000])  # the header, then nothing
    (shoot / "coffee.jpg.xmp").write_text("")
    (shoot / "coffee.jpg.xmp").chmod(0o444)  # the photographer locked it: filed, but not updated
    proc = keepers("sort", "--move", shoot, tmp=tmp_path)
    assert proc.returncode == 1
    out = proc.stdout + proc.stderr
    assert re.search(r"left in place \(1\):\n  card_error\.jpg: file is truncated", out), out
    assert re.search(r"its sidecar was not updated \(1\):\n  coffee\.jpg: .*read-only", out), out
    assert out.count("card_error.jpg") == 1 and out.count("coffee.jpg.xmp") + out.count("coffee.jpg:") == 1, out
    assert (shoot / "card_error.jpg").exists() and not (shoot / "coffee.jpg").exists()


def test_sorting_twice_files_nothing_again_and_one_undo_puts_everything_back(shoot, tmp_path):
    # the second copy sort made good/coffee-1.jpg and replaced the journal, so the undo removed only those copies
    # and the first ones stayed, with nothing left to undo them
    before = tree(shoot)
    assert keepers("sort", shoot, tmp=tmp_path).returncode == 0
    filed = tree(shoot)
    again = keepers("sort", shoot, tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    assert tree(shoot) == filed and "2 photos filed by an earlier sort" in again.stdout, again.stdout
    assert keepers("sort", "--undo", shoot, tmp=tmp_path).returncode == 0
    assert not (shoot / "good").exists() and not (shoot / "bad").exists()
    assert tree(shoot) == {k: v for k, v in filed.items() if not k.startswith(("good/", "bad/"))}
    assert set(before) <= set(tree(shoot))


def test_a_sort_that_filed_nothing_offers_no_undo(tmp_path, write_jpeg):
    write_jpeg(sample_rgb("coffee"), "shoot/day1/coffee.jpg")  # photos only in a sub-folder: sort leaves them
    proc = keepers("sort", "--move", tmp_path / "shoot", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "undo" not in proc.stdout and "1 photos in sub-folders stay where they are" in proc.stdout, proc.stdout
    assert not (tmp_path / "shoot" / ".keepers-sort.json").exists()


def test_a_new_photo_by_the_name_of_one_moved_earlier_is_sorted_and_not_taken_for_filed(shoot, tmp_path, write_jpeg):
    # the next card's coffee.jpg, after the first one was moved to good/: it was said "filed by an earlier sort" and
    # left where it was, unsorted, for ever
    assert keepers("sort", "--move", shoot, tmp=tmp_path).returncode == 0
    write_jpeg(sample_rgb("rocket"), "shoot/coffee.jpg")
    again = keepers("sort", "--move", shoot, tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "earlier sort" not in again.stdout and not (shoot / "coffee.jpg").exists(), again.stdout
    moved = [p for p in (shoot / "good").glob("coffee*.jpg")] + [p for p in (shoot / "bad").glob("coffee*.jpg")]
    assert len(moved) == 2 and (shoot / "good" / "coffee.jpg").exists()


def test_a_photo_whose_sidecar_cannot_move_stays_with_it_and_the_sort_says_why(shoot, tmp_path):
    # the photo went to good/ and its sidecar stayed behind: a DAM showed the filed photo without its rating
    from helpers import chattr

    keepers("cull", shoot, tmp=tmp_path)
    side = shoot / "coffee.jpg.xmp"
    before = side.read_bytes()
    chattr("+i", side)
    try:
        proc = keepers("sort", "--move", shoot, tmp=tmp_path)
    finally:
        chattr("-i", side)
    assert proc.returncode == 1
    assert (shoot / "coffee.jpg").exists() and side.read_bytes() == before and not list(shoot.glob("good/coffee*"))
    assert "coffee.jpg: not moved: coffee.jpg.xmp: Operation not permitted" in proc.stdout, proc.stdout
    assert (shoot / "bad" / "chelsea_blurred.jpg").exists()  # the other photo is filed as usual
    undo = keepers("sort", "--undo", shoot, tmp=tmp_path)
    assert undo.returncode == 0 and (shoot / "chelsea_blurred.jpg").exists(), undo.stdout
