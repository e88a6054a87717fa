"""What a photographer reads of a verdict's reasons: what moved the score, with its points, in `keepers show`, the
cull's table, the sidecar's keepers:Reasons and the review page alike.

A flaw a measure found and the judging step charged nothing for used to be listed on keepers as if the photo had it:
a studio portrait on white (RNI6 David_Hilbert, 9.4) "Backlit", a high-key petunia (lowlight 47) "Overexposed", and
the table's why column showed the first two reasons whatever they cost. On a keeper it is now left out (--json
keeps it, role "measured"); on a photo not kept it is listed under "measured, not charged"."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from helpers import KEEPERS, exiftool_json, isolated_env, keepers, records
from keepers.core.judge import flaws, texts
from keepers.core.types import Reason

# keepers (each with a flaw measured and not charged when this was written), and photos not kept
PHOTOS = ("real_defects/noisy/David_Hilbert.jpg", "real_defects/lowlight/47.jpg", "taste/holidays/images/101300.jpg",
          "real_defects/lowlight/2.jpg", "real_defects/lowlight/25.jpg")
LINE = re.compile(r"^(?P<code>[a-z_]+)(?: \((?P<points>[+-]\d+\.\d|not charged)\))?: (?P<said>.+)$")


@pytest.fixture(scope="module")
def culled(shared_data, tmp_path_factory):
    """The photos copied into one folder and culled by the real command (sidecars written), then its table."""
    tmp = tmp_path_factory.mktemp("shown")
    folder = tmp / "photos"
    folder.mkdir()
    for p in PHOTOS:
        shutil.copy(shared_data / p, folder / p.rsplit("/", 1)[1])
    proc = keepers("cull", "--json", folder, tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    table = subprocess.run([KEEPERS, "cull", "--dry-run", str(folder)], capture_output=True,
                           text=True, timeout=300, env={**isolated_env(tmp), "COLUMNS": "400"})
    assert table.returncode == 0, table.stderr
    return folder, records(proc), table.stdout, tmp


def _measured(rec: dict) -> list[dict]:
    return [x for x in rec["reasons"] if x["role"] == "measured"]


def test_a_keepers_flaw_that_cost_nothing_is_not_shown_but_json_keeps_it_as_not_charged(culled):
    folder, recs, table, tmp = culled
    keepers_with = {n: r for n, r in recs.items() if r["verdict"] == "good" and _measured(r)}
    assert keepers_with, {n: r["reasons"] for n, r in recs.items()}  # the case exists among these real photos
    for name, rec in keepers_with.items():
        for x in _measured(rec):
            assert 0 <= x["cost"] < flaws.MOVED and x["severity"] > 0, x  # kept for tools: cost nothing, measured
        shown = keepers("show", folder / name, tmp=tmp).stdout
        row = next(line for line in table.splitlines() if name in line)
        for x in _measured(rec):
            said = texts.plain(Reason(**{k: x[k] for k in ("code", "message", "severity", "cost")}))
            assert x["code"] not in shown and said not in shown, (name, shown)
            assert said not in row and x["message"] not in row, (name, row)
        [side] = exiftool_json(rec["sidecars"][0], tags=("-XMP-keepers:Reasons", "-XMP-keepers:ReasonCodes"))
        lines = side.get("Reasons", [])
        lines = lines if isinstance(lines, list) else [lines]
        assert not any(LINE.match(s)["code"] in {x["code"] for x in _measured(rec)} for s in lines), lines
        codes = side["ReasonCodes"] if isinstance(side["ReasonCodes"], list) else [side["ReasonCodes"]]
        assert {x["code"] for x in _measured(rec)} <= set(codes)  # the tools' vocabulary keeps every code


def test_a_photo_judged_bad_shows_what_took_its_points_first(culled):
    folder, recs, table, tmp = culled
    bad = {n: r for n, r in recs.items() if r["verdict"] == "bad"}
    assert bad
    for name, rec in bad.items():
        worst = max(rec["reasons"], key=lambda x: x["cost"])
        assert worst["cost"] >= 0.05 and worst["role"] == "took"
        row = next(line for line in table.splitlines() if name in line)
        why = row.split("│")[-2].strip()  # the table's last column
        assert why.startswith(f"{-worst['cost']:+.1f} "), row
        lines = [" ".join(s.split()) for s in keepers("show", folder / name, tmp=tmp).stdout.splitlines()]
        first = lines[lines.index("why:") + 1]
        assert first.startswith(f"{-worst['cost']:+.1f} {worst['code']} "), lines
        if _measured(rec):  # what was measured and cost nothing is listed apart, after what took the points
            assert lines.index("measured, not charged:") > lines.index("why:"), lines


def test_the_sidecars_reasons_carry_their_points_without_repeating_the_code_and_round_trip(culled):
    _, recs, _, _ = culled
    for name, rec in recs.items():
        [side] = exiftool_json(rec["sidecars"][0], tags=("-XMP-keepers:Reasons",))
        lines = side.get("Reasons", [])
        lines = lines if isinstance(lines, list) else [lines]
        listed = [x for x in rec["reasons"] if not (rec["verdict"] == "good" and x["role"] == "measured")]
        assert len(lines) == len(listed), (name, lines)
        by_code = {x["code"]: x for x in listed}
        for s in lines:
            m = LINE.match(s)
            assert m, s
            x = by_code[m["code"]]
            if x["role"] in ("took", "gave"):
                assert float(m["points"]) == pytest.approx(-x["cost"], abs=0.051), s
            words = m["code"].replace("_", " ")
            assert not m["said"].casefold().startswith(words + ":"), s  # "noise: Noise: ..." said the code twice
        took = [s for s in lines if LINE.match(s)["points"] not in (None, "not charged")]
        if rec["verdict"] == "bad":
            assert lines[0] == took[0] and LINE.match(lines[0])["points"].startswith("-"), lines
        # (a guard) a flaw keyword only for a flaw that took points: none for what was measured and not charged
        [tags] = exiftool_json(rec["sidecars"][0], tags=("-HierarchicalSubject",))
        paths = tags.get("HierarchicalSubject", [])
        paths = paths if isinstance(paths, list) else [paths]
        flawed = {t.split("|")[-1] for t in paths if t.startswith("Keepers|flaw|")}
        assert flawed == {x["code"].replace("_", " ") for x in rec["reasons"]
                          if x["role"] == "took" and x["cost"] >= flaws.FLAW_COST and x["severity"] >= 0.3
                          and x["code"] not in flaws.LOOKS and not x["message"].startswith(flaws.DOUBT)}, (name, tags)


def test_an_old_format_sidecar_reads_back_and_a_new_cull_rewrites_its_reasons(culled, tmp_path):
    """Sidecars written before held "code: message" lines; they read back as they are, and a cull over one
    replaces Keepers' own lines and leaves the photographer's keyword."""
    from keepers.core.io import exiftool as et_proc
    from keepers.core.io.xmp import read_sidecar

    folder, recs, _, _ = culled
    name = next(n for n, r in recs.items() if r["verdict"] == "bad")
    photo = tmp_path / name
    shutil.copy(folder / name, photo)
    old = ["underexposed: Underexposed: about 2.7 stops too dark", "vignetting: Vignetting: corners about 1.1 stops"]
    side = tmp_path / f"{name}.xmp"
    made = subprocess.run(["exiftool", "-config", str(et_proc.CONFIG), "-o", str(side),
                           *[f"-XMP-keepers:Reasons={s}" for s in old], "-XMP-keepers:ReasonCodes=underexposed",
                           "-XMP-dc:Subject=mine", str(photo)], capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    assert read_sidecar(side)["reasons"] == old
    proc = keepers("cull", "--json", tmp_path, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    s = read_sidecar(side)
    assert "mine" in s["keywords"] and s["reasons"] and all(LINE.match(x) for x in s["reasons"]), s
    assert s["reasons"][0].startswith(json.loads(proc.stdout.splitlines()[0])["reasons"][0]["code"] + " (-"), s


def test_a_reasons_role_and_words_follow_what_it_did_to_the_score():
    took, gave = Reason("noise", "Noise: visible grain", 0.9, 2.82), Reason("moment", "A smile: +1.1", 0.2, -1.1)
    note, measured = Reason("low_key", "Dark scene: low-key", 0.0), Reason("backlit", "Backlit: darker", 0.8, 0.0)
    assert [flaws.role(r) for r in (took, gave, note, measured)] == ["took", "gave", "note", "measured"]
    assert flaws.shown([measured, note, gave, took], kept=True) == [took, gave, note]
    assert flaws.shown([measured, note, gave, took], kept=False) == [took, gave, note, measured]
    # on a keeper what moved the score most leads, given or taken: a smile's +2.1 before a look's -0.1
    smile, look = Reason("moment", "A smile: +2.1", 0.2, -2.1), Reason("appeal", "People tend to pass over it", 0.1, 0.1)
    assert flaws.shown([look, smile], kept=True) == [smile, look]
    assert flaws.shown([look, smile], kept=False) == [look, smile]  # not kept: what took points comes first
    assert [texts.line(r) for r in (took, gave, note, measured)] == [
        "noise (-2.8): visible grain", "moment (+1.1): A smile", "low_key: Dark scene: low-key",
        "backlit (not charged): darker"]
    assert texts.line(Reason("alternate", "alternate in a 3-frame burst; the pick is b.jpg", 0.0)) == \
        "alternate: in a 3-frame burst; the pick is b.jpg"
    # opening words that are not the code's stay: they say more than the code
    assert texts.plain(Reason("out_of_focus", "Eyes not sharp: the focus fell elsewhere", 0.9, 2.6)) == \
        "Eyes not sharp: the focus fell elsewhere"


def test_the_lab_measure_counts_keepers_listing_a_flaw_that_cost_nothing(shared_data, tmp_path):
    """core/lab/reasons.py, which the eval reports: on real photos with a keeper whose flaw cost nothing, --json keeps
    it and no view lists it."""
    from keepers.core.lab import reasons

    for p in PHOTOS[:2] + PHOTOS[3:4]:  # two keepers with such a flaw, a photo not kept
        (tmp_path / "camera" / "photos").mkdir(parents=True, exist_ok=True)
        shutil.copy(shared_data / p, tmp_path / "camera" / "photos" / p.rsplit("/", 1)[1])
    m = reasons.measure(tmp_path, workers=1)
    assert m["photos"] == 3 and m["measured_in_json"] >= 1 and m["measured_shown"] == 0, m
    assert m["why_points_first"] == m["not_kept"] and m["lines_repeating_code"] == 0, m
    assert any("measured" in line or "cost nothing" in line for line in reasons.report(m))
