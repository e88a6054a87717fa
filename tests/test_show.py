"""`keepers show` says what the cull wrote, and each photo is judged once per run.

`show` once judged a burst's frame alone: "no flaw found", no group, while its sidecar said it was an alternate in
an 8-frame burst. It now reads the judgement the cull stored, group and alternate reason included."""

from __future__ import annotations

import json

import pytest

from helpers import exiftool_json, keepers
from keepers.core.lab import demo


@pytest.fixture(scope="module")
def culled(demo_run):
    folder, proc, recs, tmp = demo_run
    assert proc.returncode == 0, proc.stderr
    return folder, recs, tmp


def test_show_and_the_sidecar_agree_for_every_frame_of_a_burst(culled):
    folder, recs, tmp = culled
    burst = sorted(name for name in recs if name.startswith("burst_"))
    assert len(burst) >= 3
    for name in burst:
        shown = json.loads(keepers("show", "--json", folder / name, tmp=tmp).stdout)
        [side] = exiftool_json(recs[name]["sidecars"][0], tags=(
            "-XMP-keepers:Score", "-XMP-keepers:Group", "-XMP-keepers:Pick", "-XMP-keepers:ReasonCodes", "-Rating"))
        assert not shown["judged_alone"], name
        assert shown["group"] == side["Group"] and str(shown["pick"]).lower() == str(side["Pick"]).lower(), name
        assert shown["score"] == pytest.approx(float(side["Score"])) and shown["stars"] == side.get("Rating", 0), name
        codes = side.get("ReasonCodes", [])
        assert [r["code"] for r in shown["reasons"]] == (codes if isinstance(codes, list) else [codes]), name
    alternates = [n for n in burst if not recs[n]["pick"]]
    assert alternates
    text = keepers("show", folder / alternates[0], tmp=tmp).stdout
    assert "alternate" in text and "group" in text  # the words a photographer reads say it too


def test_show_on_a_photo_never_culled_says_it_was_judged_alone(culled, tmp_path):
    folder, _, _ = culled
    proc = keepers("show", "--json", folder / "chelsea.jpg", tmp=tmp_path)  # a fresh catalog: never culled
    rec = json.loads(proc.stdout)
    assert rec["judged_alone"] and rec["score"] is not None
    assert "judged alone" in keepers("show", folder / "chelsea.jpg", tmp=tmp_path).stdout


def test_each_photo_is_judged_once_per_cull(tmp_path, monkeypatch):
    """The judging step runs once per photo, before grouping; grouping picks by those judgements and never judges
    again (a burst's frames were once decided twice: once to find the pick, once for the sidecar)."""
    from keepers.core.io import catalog
    from keepers.core import pipeline
    from keepers.core.settings import Settings

    folder = tmp_path / "photos"
    demo.build(folder)
    calls: list[str] = []
    real = pipeline.judge
    monkeypatch.setattr(pipeline, "judge", lambda findings, settings: calls.append(findings[0].analyzer) or
                        real(findings, settings))
    settings = Settings(workers=1, catalog=tmp_path / "catalog.db")
    results = pipeline.Cull(settings, catalog.Catalog(settings.catalog), dry_run=True).run([str(folder)])
    judged = [r for r in results if r.verdict is not None]
    assert len(judged) == len(results) == len(calls)
    assert any(r.verdict.group for r in judged) and any("alternate" in [x.code for x in r.verdict.reasons]
                                                        for r in judged)


def test_show_signs_each_reasons_points_as_they_moved_the_score(culled):
    """A smile's or the look's points were printed as "·" (took nothing) beside a message saying "+2.1": `show` now
    prints "+2.1" for points given and "-4.8" for points taken, as `--json`'s cost (minus the points) says."""
    folder, recs, tmp = culled
    gave = next(n for n, r in recs.items() if any(x["cost"] <= -0.05 for x in r["reasons"]))
    took = next(n for n, r in recs.items() if any(x["cost"] >= 0.05 for x in r["reasons"]))
    for name in (gave, took):
        lines = [" ".join(s.split()) for s in keepers("show", folder / name, tmp=tmp).stdout.splitlines()]
        for x in recs[name]["reasons"]:
            if x["role"] == "measured" and recs[name]["verdict"] == "good":
                continue  # a keeper's flaw that cost nothing is not listed (tests/test_reasons_shown.py)
            shown = f"{-x['cost']:+.1f} {x['code']}" if abs(x["cost"]) >= 0.05 else f"· {x['code']}"
            assert any(s.startswith(shown) for s in lines), (name, shown, lines)
