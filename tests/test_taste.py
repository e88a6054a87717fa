"""A photographer's own taste (`keepers taste`, `keepers cull --taste`): real photos, the real command, a real
catalog. Taste reorders among sound photos and never turns a flawed reject into a keeper."""

from __future__ import annotations

import csv
import itertools
import json

import pytest

from helpers import keepers, records
from keepers.core.lab import demo
from keepers.core.settings import Settings
from keepers.core.taste.term import shifted


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
    for n in good:
        assert tasted[n]["verdict"] == "good"
    # the flaws still cost what they cost: no flawed photo became a keeper, no reject stopped being one
    for n in bad:
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


def test_taste_never_moves_a_score_across_the_reject_or_good_threshold():
    s = Settings()
    for score in [1.0, 1.5, 2.99, 3.0, 4.2, 4.99, 5.0, 7.3, 10.0]:
        for points in [-50, -3, -0.5, 0.5, 3, 50]:
            new = shifted(score, points, s)
            assert (new < 3.0) == (score < 3.0) and (new >= 5.0) == (score >= 5.0), (score, points, new)
            assert (new - score) * points >= 0  # it moves the way taste says, or not at all
