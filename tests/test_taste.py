"""A photographer's own taste (`keepers taste`, `keepers cull --taste`): real photos, the real command, a real
catalog. Taste reorders among sound photos and never turns a flawed reject into a keeper."""

from __future__ import annotations

import csv
import itertools
import json
import os
import re

import pytest

from helpers import keepers, records
from keepers.core.judge.flaws import named_flaw
from keepers.core.lab import demo
from keepers.core.settings import Settings
from keepers.core.taste.term import shifted
from keepers.core.types import Reason


@pytest.fixture(scope="module")
def shoot(tmp_path_factory):
    """The demo photos (clean originals and flawed copies), culled once without taste: (tmp, folder, records)."""
    tmp = tmp_path_factory.mktemp("taste")
    folder = tmp / "photos"
    demo.build(folder)
    proc = keepers("cull", "--json", "--dry-run", folder, tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    return tmp, folder, records(proc)


def write_choices(path, pairs):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["preferred", "other"])
        w.writerows(pairs)


def test_cull_with_a_taste_reorders_the_sound_photos_but_never_lifts_a_flawed_reject(shoot):
    tmp, folder, general = shoot
    good = sorted((n for n, r in general.items() if r["verdict"] == "good"), key=lambda n: general[n]["score"])
    bad = [n for n, r in general.items() if r["verdict"] == "bad"]
    rejects = [n for n, r in general.items() if r["stars"] == -1]
    assert len(good) >= 3 and rejects, general
    # a taste against the general judgement: the lower the general score of a sound photo, the more this person
    # likes it, and they prefer every flawed photo to every sound one
    pairs = [(f"photos/{a}", f"photos/{b}") for a, b in itertools.combinations(good, 2)]
    pairs += [(f"photos/{b}", f"photos/{g}") for b in bad for g in good]
    write_choices(tmp / "choices.csv", pairs)
    imp = keepers("taste", "import", "contrary", tmp / "choices.csv", tmp=tmp)
    assert imp.returncode == 0, imp.stderr
    proc = keepers("cull", "--json", "--dry-run", "--taste", "contrary", folder, tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    tasted = records(proc)

    # among the sound photos, the order moved toward this person's: the general score's worst is now above its best
    assert tasted[good[0]]["score"] > tasted[good[-1]]["score"], {n: tasted[n]["score"] for n in good}
    assert tasted[good[0]]["verdict"] == "good"
    # the flaws still cost what they cost: no photo judged bad for a named flaw became a keeper, no reject stopped
    # being one
    for n in bad:
        assert _flawed(general[n]), general[n]  # the demo's flawed copies: each names what it costs
        assert tasted[n]["verdict"] == "bad", tasted[n]
    for n in rejects:
        assert tasted[n]["stars"] == -1, tasted[n]
    # the reason names the taste where it moved the score
    moved = [r for r in tasted.values() if any(x["code"] == "taste" for x in r["reasons"])]
    assert moved
    for r in moved:
        why = next(x for x in r["reasons"] if x["code"] == "taste")
        assert why["message"].startswith("your taste (contrary): ")
        assert abs(float(why["message"].rsplit(" ", 1)[1]) - (r["score"] - general[r["path"].rsplit("/", 1)[1]]["score"])) < 0.06


def _flawed(record) -> bool:
    # the reason's own fields: --json may say more of a reason (its role) than a Reason holds
    return named_flaw(Reason(x["code"], x["message"], x["severity"], x["cost"]) for x in record["reasons"])


# taste/flowers photos the general judgement puts on each side (at 2026-12-06): judged bad with no flaw named (the
# quality model's general doubt), judged bad for a named flaw (soft, colour fringes), rejects for a named flaw
# (too dark, dark corners), and keepers. The test reads which is which from its own cull: a few of each, so a
# change in the judging step that moves one of them still leaves the others
DOUBTED, FLAWED, REJECTS, KEEPERS = (36, 166, 246, 222), (96, 165, 43, 338), (99, 33, 52), (0, 1, 2, 3, 4, 6)


def test_a_strong_taste_keeps_a_photo_judged_bad_with_no_flaw_named_but_never_a_flawed_one(shared_data, tmp_path):
    """The issue's rule: taste never turns a flawed reject into a keeper, and reorders among what is sound. A
    flower the quality model merely doubts (bad, no flaw named) is a keeper for a person who prefers it to every
    keeper; a blurred or fringed flower this person prefers as much stays bad, a reject stays a reject."""
    import shutil

    folder = tmp_path / "flowers"
    folder.mkdir()
    for i in DOUBTED + FLAWED + REJECTS + KEEPERS:
        shutil.copy(shared_data / "taste" / "flowers" / "images" / f"{i}.jpg", folder / f"f{i}.jpg")
    proc = keepers("cull", "--json", "--dry-run", folder, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    general = records(proc)
    good = [n for n, r in general.items() if r["verdict"] == "good"]
    doubted = [n for n, r in general.items() if r["verdict"] == "bad" and r["stars"] != -1 and not _flawed(r)]
    flawed = [n for n, r in general.items() if r["verdict"] == "bad" and r["stars"] != -1 and _flawed(r)]
    rejects = [n for n, r in general.items() if r["stars"] == -1 and _flawed(r)]
    assert good and doubted and flawed and rejects, {n: (r["score"], r["reasons"]) for n, r in general.items()}

    # this person prefers every photo the general judgement put below the keepers to every keeper, and the doubted
    # ones most
    pairs = [(f"flowers/{b}", f"flowers/{g}") for b in doubted + flawed + rejects for g in good]
    pairs += [(f"flowers/{d}", f"flowers/{b}") for d in doubted for b in flawed + rejects]
    write_choices(tmp_path / "choices.csv", pairs)
    assert keepers("taste", "import", "low", tmp_path / "choices.csv", tmp=tmp_path).returncode == 0
    proc = keepers("cull", "--json", "--dry-run", "--taste", "low", folder, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    tasted = records(proc)
    for n in doubted:  # no flaw holds it: kept, and the reason says it is this person's taste
        assert tasted[n]["verdict"] == "good", tasted[n]
        why = [x["message"] for x in tasted[n]["reasons"] if x["code"] == "taste"]
        assert why and why[0].startswith("your taste (low): +"), tasted[n]["reasons"]
    for n in flawed:  # the flaw still costs what it costs: raised within the bad photos only
        assert tasted[n]["verdict"] == "bad" and tasted[n]["score"] >= general[n]["score"], tasted[n]
    for n in rejects:
        assert tasted[n]["stars"] == -1, tasted[n]
    # and a keeper this person likes least of all may now be judged bad: taste reorders the sound photos whole
    assert min(tasted[n]["score"] for n in good) < min(general[n]["score"] for n in good)
    # and one it dropped is not flawed: no "flaw|taste" keyword goes to its sidecar, as none came from its look
    assert not [k for r in tasted.values() for k in r["keywords"] if k.startswith(("flaw|taste", "flaw|appeal"))]


def test_a_taste_imported_from_a_csv_is_shown_exported_imported_elsewhere_and_reset(shoot, tmp_path):
    tmp, folder, general = shoot
    names = sorted(general)[:8]
    # relative to the CSV's folder, and one absolute path
    pairs = [(f"photos/{a}", f"photos/{b}") for a, b in itertools.combinations(names, 2)]
    pairs[0] = (str(folder / names[0]), f"photos/{names[1]}")
    write_choices(tmp / "mine.csv", pairs)
    assert keepers("taste", "import", "mine", tmp / "mine.csv", tmp=tmp).returncode == 0
    again = keepers("taste", "import", "mine", tmp / "mine.csv", tmp=tmp)  # the same choices twice count once
    assert "0 new choices" in again.stdout, again.stdout

    shown = keepers("taste", "show", "mine", "--json", tmp=tmp)
    info = json.loads(shown.stdout)
    assert info["signals"] == info["trained_on"] == len(pairs)
    assert info["cv_agreement"] is not None and info["cv_agreement"] > 0.8  # a consistent order is learned
    assert info["weight"] > 0
    words = keepers("taste", "show", "mine", tmp=tmp).stdout
    assert f"{len(pairs)} signals" in words and "held-out" in words
    # how far the taste moves a score, said on the 1-10 scale: a liked keeper up from 7.0, a less liked one down
    said = re.search(r"scored 7\.0 .* scores (\d+\.\d), one it likes less (\d+\.\d)", words)
    assert said and 10.0 >= float(said[1]) > 7.0 > float(said[2]) >= 1.0, words

    exported = tmp_path / "mine.json"
    assert keepers("taste", "export", "mine", exported, tmp=tmp).returncode == 0
    elsewhere = tmp_path / "elsewhere"
    assert keepers("taste", "import", "theirs", exported, tmp=elsewhere).returncode == 0
    assert json.loads(keepers("taste", "show", "theirs", "--json", tmp=elsewhere).stdout)["trained_on"] == len(pairs)

    assert keepers("taste", "reset", "mine", tmp=tmp).returncode == 0
    gone = keepers("cull", "--json", "--dry-run", "--taste", "mine", folder, tmp=tmp)
    assert gone.returncode != 0 and "no taste profile 'mine'" in gone.stderr


def test_a_csv_without_the_preferred_other_header_is_refused_in_one_line(tmp_path):
    (tmp_path / "bad.csv").write_text("winner,loser\na.jpg,b.jpg\n")
    proc = keepers("taste", "import", "p", tmp_path / "bad.csv", tmp=tmp_path)
    assert proc.returncode != 0 and "preferred,other" in proc.stderr and "Traceback" not in proc.stderr


def test_taste_never_lifts_a_reject_or_a_flawed_bad_photo_and_moves_a_sound_one_across_the_good_line():
    s = Settings()
    for score in [1.0, 1.5, 2.99, 3.0, 4.2, 4.99, 5.0, 7.3, 10.0]:
        for points in [-50, -3, -0.5, 0.5, 3, 50]:
            for sound in (False, True):
                new = shifted(score, points, s, sound=sound)
                assert (new < 3.0) == (score < 3.0), (score, points, sound, new)  # a reject stays one, and only it
                if score < 5.0 and not sound:
                    assert new < 5.0, (score, points, new)  # a named flaw keeps a bad photo bad
                assert (new - score) * points >= 0  # it moves the way taste says, or not at all
                assert shifted(score, 0.0, s, sound=sound) == score  # a taste that says nothing moves nothing
    assert shifted(4.2, 5, s, sound=True) >= 5.0 and shifted(7.3, -5, s) < 5.0  # across the good line, both ways
    # strongly moved photos keep taste's order at 2 decimals (a tie at a band's edge decides no pair) until they
    # reach the scale's top, where a photo the general judgement put at 10.0 already is
    moved = [shifted(6.0, p, s, sound=True) for p in (2, 5, 10, 20)]
    assert moved == sorted(set(moved)), moved
    # a keeper at 10.0 is not out of a taste's reach: one this person would not keep falls, by how much they would not
    top = [shifted(10.0, p, s) for p in (-16, -8, -4, -1)]
    assert top == sorted(set(top)) and top[-1] < 10.0, top
    # and the general order of the keepers near the top is kept where the taste is the same (no clamp piles them up)
    near = [shifted(x, 0.5, s) for x in (9.0, 9.4, 9.7, 9.9)]
    assert near == sorted(set(near)), near


def _flowers(shared_data, folder, n):
    import shutil

    folder.mkdir(parents=True)
    for i in range(n):
        shutil.copy(shared_data / "taste" / "flowers" / "images" / f"{i}.jpg", folder / f"f{i}.jpg")
    return sorted(folder.glob("*.jpg"))


def test_ratings_in_a_lightroom_catalog_become_choices_and_the_catalog_is_only_read(shared_data, tmp_path):
    import hashlib
    import sqlite3

    photos = _flowers(shared_data, tmp_path / "shoot", 6)
    lrcat = tmp_path / "Lightroom Catalog.lrcat"
    con = sqlite3.connect(lrcat)
    con.executescript("""
        CREATE TABLE AgLibraryRootFolder (id_local INTEGER PRIMARY KEY, absolutePath TEXT, name TEXT);
        CREATE TABLE AgLibraryFolder (id_local INTEGER PRIMARY KEY, pathFromRoot TEXT, rootFolder INTEGER);
        CREATE TABLE AgLibraryFile (id_local INTEGER PRIMARY KEY, baseName TEXT, extension TEXT, folder INTEGER,
                                    idx_filename TEXT);
        CREATE TABLE Adobe_images (id_local INTEGER PRIMARY KEY, rating REAL, pick REAL, colorLabels TEXT,
                                   rootFile INTEGER);
    """)
    con.execute("INSERT INTO AgLibraryRootFolder VALUES (1, ?, 'root')", (str(tmp_path) + "/",))
    con.execute("INSERT INTO AgLibraryFolder VALUES (1, 'shoot/', 1)")
    # stars 5, 4, 3, none, a flagged 2 and a rejected one; an unrated photo says nothing
    for i, (p, rating, pick) in enumerate(zip(photos, [5, 4, 3, None, 2, None], [0, 0, 0, 0, 1, -1]), 1):
        con.execute("INSERT INTO AgLibraryFile VALUES (?, ?, 'jpg', 1, ?)", (i, p.stem, p.name))
        con.execute("INSERT INTO Adobe_images VALUES (?, ?, ?, 'Red', ?)", (i, rating, pick, i))
    con.commit()
    con.close()
    before = hashlib.sha256(lrcat.read_bytes()).hexdigest()

    proc = keepers("taste", "import", "lr", "--ratings", lrcat, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "5 photos rated by you" in proc.stdout
    info = json.loads(keepers("taste", "show", "lr", "--json", tmp=tmp_path).stdout)
    assert info["signals"] == info["trained_on"] == 10  # every pair of 5 differently rated photos
    prof = json.loads((tmp_path / "xdg_data_home" / "keepers" / "taste" / "lr.json").read_text())
    pairs = {(os.path.basename(s["preferred"]), os.path.basename(s["other"])) for s in prof["signals"]}
    assert ("f0.jpg", "f1.jpg") in pairs and ("f4.jpg", "f5.jpg") in pairs and ("f1.jpg", "f0.jpg") not in pairs
    assert not any("f3.jpg" in p for p in itertools.chain(*pairs))
    assert hashlib.sha256(lrcat.read_bytes()).hexdigest() == before


def test_the_photographers_stars_in_sidecars_are_learned_from_and_keepers_own_never(shared_data, tmp_path):
    import subprocess

    photos = _flowers(shared_data, tmp_path / "shoot", 4)
    assert keepers("cull", tmp_path / "shoot", tmp=tmp_path).returncode == 0  # Keepers rates every photo
    mine = keepers("taste", "import", "me", "--ratings", tmp_path / "shoot", tmp=tmp_path)
    assert mine.returncode != 0 and "nothing to learn from" in mine.stderr, mine.stdout + mine.stderr

    # the photographer changes two ratings in their editor (the sidecar's xmp:Rating, not keepers:RatingSet)
    for p, stars in ((photos[0], 1), (photos[1], 5)):
        subprocess.run(["exiftool", "-q", "-overwrite_original", f"-XMP-xmp:Rating={stars}",
                        f"{p}.xmp"], check=True)
    mine = keepers("taste", "import", "me", "--ratings", tmp_path / "shoot", tmp=tmp_path)
    assert mine.returncode == 0, mine.stderr
    assert "2 photos rated by you" in mine.stdout and "1 choices" in mine.stdout
    prof = json.loads((tmp_path / "xdg_data_home" / "keepers" / "taste" / "me.json").read_text())
    assert [(os.path.basename(s["preferred"]), os.path.basename(s["other"])) for s in prof["signals"]] == \
        [("f1.jpg", "f0.jpg")]
