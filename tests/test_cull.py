"""`keepers cull` end to end, as a photographer runs it: real photos, real analyzers, real exiftool, real SQLite."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers import KEEPERS, exiftool_json, isolated_env, keepers, records
from keepers.core.io.naming import TMP
from keepers.core.lab import demo


def test_every_demo_photo_gets_a_verdict_that_honours_the_json_contract(demo_run):
    folder, proc, recs, _ = demo_run
    assert proc.returncode == 0, proc.stderr
    assert len(recs) == len(list(folder.glob("*.jpg")))
    for r in recs.values():
        assert r["error"] is None
        assert 1 <= r["score"] <= 10 and r["verdict"] in ("good", "bad") and 0 <= r["confidence"] <= 1
        assert r["stars"] in range(-1, 6) and isinstance(r["keywords"], list) and isinstance(r["pick"], bool)
        assert "group" in r and all({"code", "message", "severity"} <= set(x) for x in r["reasons"])
        if r["stars"] == -1:
            assert r["reasons"], "a reject must say why"


def test_the_quality_model_judges_every_photo_and_its_originals_are_keepers(demo_run):
    _, _, recs, _ = demo_run
    assert {r["judged_by"] for r in recs.values()} <= {"quality/portrait", "quality/landscape", "quality/other"}
    assert recs["astronaut.jpg"]["judged_by"] == "quality/portrait"
    for name in ("astronaut", "chelsea", "coffee", "rocket", "motorcycle"):  # clean sample photos, as published
        assert recs[f"{name}.jpg"]["verdict"] == "good", recs[f"{name}.jpg"]


@pytest.mark.parametrize("variant,original,codes", [
    ("chelsea_blurred", "chelsea", {"out_of_focus", "motion_blur"}),
    ("coffee_shaken", "coffee", {"motion_blur", "out_of_focus"}),
    ("astronaut_noisy", "astronaut", {"noise"}),
    ("coffee_dark", "coffee", {"underexposed", "clipped_shadows"}),
    ("astronaut_bright", "astronaut", {"overexposed", "clipped_highlights"}),
])
def test_a_damaged_copy_scores_below_its_original_for_the_matching_reason(demo_run, variant, original, codes):
    _, _, recs, _ = demo_run
    bad, good = recs[f"{variant}.jpg"], recs[f"{original}.jpg"]
    assert bad["score"] < good["score"] - 1, (bad, good)
    assert codes & {x["code"] for x in bad["reasons"]}, bad["reasons"]


def test_exiftool_reads_our_rating_and_keywords_from_the_sidecars(demo_run):
    folder, _, recs, _ = demo_run
    blurred = recs["chelsea_blurred.jpg"]
    [tags] = exiftool_json(blurred["sidecars"][0])
    assert tags["Rating"] == blurred["stars"]
    assert "Keepers|flaw|out of focus" in tags["HierarchicalSubject"] or \
        "Keepers|flaw|motion blur" in tags["HierarchicalSubject"]
    subjects = tags["Subject"] if isinstance(tags["Subject"], list) else [tags["Subject"]]
    assert any("focus" in s or "blur" in s for s in subjects)
    assert len(list(folder.glob("*.xmp"))) == len(recs)  # one sidecar per photo, no more


def test_a_bursts_sidecars_carry_its_group_and_pick(demo_run):
    folder, _, recs, _ = demo_run
    burst = {name: r for name, r in recs.items() if name.startswith("burst_")}
    groups = {r["group"] for r in burst.values()}
    assert len(burst) >= 3 and len(groups) == 1 and None not in groups
    assert sum(r["pick"] for r in burst.values()) == 1
    for name, r in burst.items():
        [tags] = exiftool_json(r["sidecars"][0], tags=("-XMP-keepers:Group", "-XMP-keepers:Pick", "-HierarchicalSubject"))
        assert tags.get("Group") == r["group"] and str(tags.get("Pick")).lower() == str(r["pick"]).lower(), name
        assert any("group|burst" in k for k in tags["HierarchicalSubject"]), name


def test_a_second_run_over_the_same_folder_analyses_nothing(demo_run):
    from keepers.core.io.catalog import Catalog
    from keepers.core.pipeline import Cull
    from keepers.core.settings import Settings

    folder, _, first, tmp = demo_run
    settings = Settings(catalog=tmp / "xdg_data_home" / "keepers" / "catalog.db")
    cull = Cull(settings, Catalog(settings.catalog))
    t0 = time.perf_counter()
    results = cull.run([str(folder)])
    took = time.perf_counter() - t0
    assert cull.stats["analyzed"] == 0 and cull.stats["from_catalog"] == len(first)
    assert cull.stats["written"] == 0  # nothing changed, so no sidecar is rewritten
    assert {os.path.basename(r.photo.path): r.verdict.score for r in results} == {k: v["score"] for k, v in first.items()}
    assert took < 5, f"re-run over {len(first)} unchanged photos took {took:.1f} s"


def test_dry_run_writes_no_sidecar(tmp_path, write_jpeg):
    from conftest import sample_rgb

    write_jpeg(sample_rgb("coffee"), "photos/coffee.jpg")
    proc = keepers("cull", "--dry-run", "--json", tmp_path / "photos", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert records(proc)["coffee.jpg"]["sidecars"]  # it says where it would write...
    assert sorted(os.listdir(tmp_path / "photos")) == ["coffee.jpg"]  # ...and wrote nothing


def test_bad_files_get_one_clear_error_each_and_the_batch_goes_on(tmp_path, write_jpeg):
    from conftest import sample_rgb

    good = write_jpeg(sample_rgb("chelsea"), "photos/chelsea.jpg")
    folder = good.parent
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "truncated.jpg").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (folder / "notes.jpg").write_text("this is not a photo")
    (folder / "été 🌅 naïve.jpg").write_bytes(good.read_bytes()[:-100] + b"\0" * 100)  # odd name, damaged tail
    shutil.copy(good, folder / "copy with spaces ✓.jpg")
    proc = keepers("cull", "--json", folder, tmp=tmp_path)
    recs = records(proc)
    assert proc.returncode == 1  # finished, but some files failed
    assert recs["chelsea.jpg"]["error"] is None and recs["copy with spaces ✓.jpg"]["error"] is None
    for name in ("empty.jpg", "truncated.jpg", "notes.jpg"):
        assert recs[name]["error"], name
        assert recs[name]["score"] is None and not (folder / f"{name}.xmp").exists()
    assert "empty" in recs["empty.jpg"]["error"].lower()
    # as the API gives it: the message, and a code a script can switch on
    assert {recs[n]["error_code"] for n in ("empty.jpg", "truncated.jpg", "notes.jpg")} == {"read_error"}
    assert recs["chelsea.jpg"]["error_code"] is None
    table = keepers("cull", folder, tmp=tmp_path)  # the human summary lists each failure
    assert "empty.jpg" in table.stdout and "truncated.jpg" in table.stdout and "errors" in table.stdout


def test_a_missing_folder_is_a_usage_error(tmp_path):
    proc = keepers("cull", tmp_path / "nope", tmp=tmp_path)
    assert proc.returncode == 2 and "no such file or folder" in proc.stderr


def test_show_explains_one_photo_with_its_reasons(demo_run):
    folder, _, recs, tmp = demo_run
    proc = keepers("show", folder / "chelsea_blurred.jpg", tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    assert "score" in proc.stdout and "why:" in proc.stdout
    assert recs["chelsea_blurred.jpg"]["reasons"][0]["code"] in proc.stdout


def test_show_on_a_read_only_card_gives_the_verdict_without_an_error(demo_run, tmp_path):
    # show writes nothing, so a sidecar it could not write is not its error (a cull's dry run still reports it)
    folder, _, recs, tmp = demo_run
    card = tmp_path / "DCIM"
    card.mkdir()
    shutil.copy(folder / "chelsea_blurred.jpg", card)
    card.chmod(0o555)
    try:
        proc = keepers("show", "--json", card / "chelsea_blurred.jpg", tmp=tmp)
        dry = keepers("cull", "--dry-run", "--json", card, tmp=tmp)
    finally:
        card.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    rec = json.loads(proc.stdout)
    assert rec["error"] is None and rec["score"] == recs["chelsea_blurred.jpg"]["score"]
    assert "cannot write" not in proc.stderr, proc.stderr
    assert records(dry)["chelsea_blurred.jpg"]["error_code"] == "write_error"  # judged, the sidecar not writable
    assert "read-only" in records(dry)["chelsea_blurred.jpg"]["error"]


def _cull_until_killed(folder, tmp, ready) -> None:
    """Start `keepers cull` and SIGKILL its whole process group as soon as `ready()` holds."""
    proc = subprocess.Popen([KEEPERS, "cull", "--workers", "1", str(folder)], env=isolated_env(tmp),
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None and not ready():
        time.sleep(0.002)
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _photos_in(catalog) -> int:
    from keepers.core.io.catalog import Catalog

    try:
        return Catalog(catalog).counts()["photos"]
    except Exception:  # not created yet
        return 0


def test_killing_a_cull_mid_batch_leaves_no_torn_sidecar_and_a_rerun_finishes_the_rest(tmp_path):
    folder = tmp_path / "photos"
    demo.build(folder)
    for i in range(3):  # more photos, so the kill lands mid-batch
        for f in list(folder.glob("burst_*.jpg")) + list(folder.glob("coffee*.jpg")):
            copy = folder / f"{f.stem}_copy{i}.jpg"
            copy.write_bytes(f.read_bytes() + bytes([i]))  # distinct content, so no copy is a catalog duplicate
    n = len(list(folder.glob("*.jpg")))
    catalog = tmp_path / "xdg_data_home" / "keepers" / "catalog.db"

    # 1. killed while analysing: what was analysed is kept
    _cull_until_killed(folder, tmp_path, lambda: _photos_in(catalog) >= 3)
    assert 0 < _photos_in(catalog) < n, "the first kill should land mid-analysis"
    # 2. killed while writing sidecars
    _cull_until_killed(folder, tmp_path, lambda: len(list(folder.glob("*.xmp"))) >= 2)
    written = len(list(folder.glob("*.xmp")))
    assert 0 < written < n, f"the second kill should land mid-write ({written} of {n} sidecars)"
    for x in folder.glob("*.xmp"):  # every sidecar present is whole: exiftool reads our rating from it
        [tags] = exiftool_json(x, tags=("-Rating",))
        assert "Rating" in tags, x
    # a kill that lands between a sidecar's temp file and its rename (mostly its fsync, now that a new sidecar needs
    # no exiftool) leaves that temp file: hidden, never a sidecar, and removed when the photo's sidecar is written
    left = [p for p in folder.iterdir() if p.suffix not in (".jpg", ".xmp")]
    assert all(p.name.startswith(".") and TMP in p.name for p in left), left
    # 3. a re-run finishes the rest
    again = keepers("cull", "--json", folder, tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    assert len(records(again)) == n and len(list(folder.glob("*.xmp"))) == n
    assert not [p for p in folder.iterdir() if p.suffix not in (".jpg", ".xmp")], "temp files left behind"
    assert _photos_in(catalog) == n


# --- the summary a photographer reads ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nature(tmp_path_factory, request):
    """Nine real camera photos and a copy of one with dark corners, culled once: most are keepers, the copy among
    them with its vignetting named. (The foliage photos read as noisy once; they are texture: tests/test_intent.py.)"""
    import numpy as np
    from PIL import Image

    from keepers.core.lab.distort import vignetting
    from keepers.core.lab.eval import saved

    shared = request.getfixturevalue("shared_data")
    tmp = tmp_path_factory.mktemp("nature")
    folder = tmp / "nature"
    shutil.copytree(shared / "camera" / "photos" / "nature", folder)
    for p in [folder, *folder.iterdir()]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    ridge = np.asarray(Image.open(folder / "tanners_ridge.jpg").convert("RGB"))
    Image.fromarray(saved(vignetting(ridge, 4))).save(folder / "tanners_ridge_dark_corners.jpg", quality=92)
    proc = keepers("cull", "--json", folder, tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    return folder, records(proc), tmp


def _summary_rows(stdout: str) -> dict[str, str]:
    """The Summary table's rows: label -> number."""
    rows = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip("│ ").split("│")]
        if len(cells) == 2 and cells[1].replace(" / ", "").isdigit():
            rows[cells[0]] = cells[1]
    return rows


def test_the_summary_counts_only_the_reasons_of_photos_not_kept(nature):
    folder, recs, tmp = nature
    flawed_keepers = [n for n, r in recs.items() if r["verdict"] == "good" and any(x["severity"] >= 0.3
                                                                                  for x in r["reasons"])]
    assert flawed_keepers, "the test needs a keeper with a visible flaw"
    rows = _summary_rows(keepers("cull", folder, tmp=tmp).stdout)
    listed = {k.removeprefix("reason: "): int(v) for k, v in rows.items() if k.startswith("reason: ")}
    not_kept = [r for r in recs.values() if r["verdict"] == "bad"]
    assert int(rows["not keepers (bad)"]) == len(not_kept)
    for code, n in listed.items():  # under "not keepers", a reason counts the photos not kept for it
        assert n == sum(code in _bad_for(r) for r in not_kept), code


def _bad_for(rec: dict) -> set[str]:
    """What a photo not kept was judged bad for, from its --json record: the codes of the reasons that took points
    (a doubt counts as the quality model's doubt); where none took points, its strong ones."""
    took = {"the quality model's doubt" if x["message"].startswith("The quality model doubts") else x["code"]
            for x in rec["reasons"] if x["cost"] >= 0.05}
    return took or {x["code"] for x in rec["reasons"] if x["severity"] >= 0.3}


def test_the_summary_counts_each_photo_not_kept_under_what_took_its_points(shared_data, tmp_path):
    """Three real night photos judged bad: one on the quality model's doubt alone (11), one for a focus its measure
    found (54), one on the doubt with its corners' falloff listed at no cost (03). The summary once counted 03 under
    vignetting, which took nothing, and 11 and 54 under no reason at all: each is now counted once, under what
    took its points."""
    folder = tmp_path / "night"
    folder.mkdir()
    for name in ("03.jpg", "11.jpg", "54.jpg"):
        shutil.copy(shared_data / "real_defects" / "lowlight" / name, folder / name)
    recs = records(keepers("cull", "--json", "--dry-run", folder, tmp=tmp_path))
    rows = _summary_rows(keepers("cull", "--dry-run", folder, tmp=tmp_path).stdout)
    listed = {k.removeprefix("reason: "): int(v) for k, v in rows.items() if k.startswith("reason: ")}
    not_kept = [r for r in recs.values() if r["verdict"] == "bad"]
    assert len(not_kept) == 3 and int(rows["not keepers (bad)"]) == 3
    assert listed == {"the quality model's doubt": 2, "out_of_focus": 1}
    assert sum(listed.values()) == sum(len(_bad_for(r)) for r in not_kept)


def _listed(text: str) -> list[str]:
    """The photos a table lists (its first column)."""
    cells = [line.split("│")[1].strip() for line in text.splitlines() if line.startswith("│")]
    return [c for c in cells if c.endswith((".jpg", ".png"))]


def test_rejects_lists_the_rejected_photos_only(demo_run):
    folder, _, recs, tmp = demo_run
    out = subprocess.run([KEEPERS, "cull", "--rejects", str(folder)], capture_output=True, text=True, timeout=300,
                         env={**isolated_env(tmp), "COLUMNS": "200"}).stdout  # wide: no name folded
    rejected = sorted(n for n, r in recs.items() if r["stars"] == -1)
    assert rejected and sorted(_listed(out)) == rejected


def test_above_sixty_photos_the_summary_still_lists_every_reject(demo_run):
    from dataclasses import replace

    from rich.console import Console

    from keepers.core.io.catalog import Catalog
    from keepers.core.commands.cull import summary
    from keepers.core.pipeline import Cull
    from keepers.core.settings import Settings
    from keepers.core.types import Photo

    folder, _, _, tmp = demo_run
    settings = Settings(catalog=tmp / "xdg_data_home" / "keepers" / "catalog.db")
    cull = Cull(settings, Catalog(settings.catalog), dry_run=True)
    judged = [r for r in cull.run([str(folder)]) if r.verdict]
    # a big shoot: the demo's judged photos five times over, each copy under a name of its own
    shoot = [replace(r, photo=Photo(f"{r.photo.path[:-4]}_{i}.jpg", "jpeg")) for i in range(5) for r in judged]
    assert len(shoot) > 60
    out = Console(record=True, width=200)
    summary(shoot, cull.stats, out=out)
    rejects = sorted(os.path.basename(r.photo.path) for r in shoot if r.verdict.stars == -1)
    assert rejects and sorted(_listed(out.export_text())) == rejects


def test_a_sidecar_that_cannot_be_written_is_reported_once(tmp_path, write_jpeg):
    from conftest import sample_rgb

    photo = write_jpeg(sample_rgb("coffee"), "card/coffee.jpg")
    photo.parent.chmod(0o555)
    try:
        proc = keepers("cull", photo.parent, tmp=tmp_path)
    finally:
        photo.parent.chmod(0o755)
    assert proc.returncode == 1
    said = (proc.stdout + proc.stderr).count("is read-only")
    assert said == 1 and "read-only" in proc.stdout, proc.stdout + proc.stderr


def test_a_record_lists_no_sidecar_that_could_not_be_written(tmp_path, write_jpeg):
    """`sidecars` is what was written (or a dry run would write): a DAM that reads the record looks for them. A
    photo on a read-only card listed the sidecar its error said was not written."""
    from conftest import sample_rgb

    photo = write_jpeg(sample_rgb("coffee"), "card/coffee.jpg")
    beside = write_jpeg(sample_rgb("chelsea"), "desk/chelsea.jpg")
    photo.parent.chmod(0o555)
    try:
        runs = [records(keepers("cull", "--json", *extra, photo.parent, beside.parent, tmp=tmp_path))
                for extra in (("--dry-run",), ())]
    finally:
        photo.parent.chmod(0o755)
    for run in runs:
        assert run["coffee.jpg"]["error_code"] == "write_error" and run["coffee.jpg"]["sidecars"] == []
        assert run["chelsea.jpg"]["sidecars"] == [f"{beside}.xmp"]
    assert not (photo.parent / "coffee.jpg.xmp").exists() and Path(f"{beside}.xmp").is_file()


def test_a_dry_run_on_a_read_only_card_says_the_sidecar_would_not_be_written(tmp_path, write_jpeg):
    """A dry run writes no sidecar anywhere: on a read-only card it once said "sidecar not written" of every photo,
    as if the run had failed to write; it now says what a real run could not do."""
    from conftest import sample_rgb

    photo = write_jpeg(sample_rgb("coffee"), "card/coffee.jpg")
    photo.parent.chmod(0o555)
    try:
        proc = keepers("cull", "--dry-run", photo.parent, tmp=tmp_path)
    finally:
        photo.parent.chmod(0o755)
    said = " ".join(proc.stdout.split())
    assert "sidecar would not be written: folder" in said and "sidecar not written" not in said, proc.stdout
    photo.parent.chmod(0o555)
    try:  # and so does the record a script reads
        proc = keepers("cull", "--dry-run", "--json", photo.parent, tmp=tmp_path)
    finally:
        photo.parent.chmod(0o755)
    record = records(proc)["coffee.jpg"]
    assert record["error_code"] == "write_error" and record["error"].startswith("sidecar would not be written: folder")


def test_no_python_warning_reaches_the_photographers_terminal(tmp_path):
    from PIL import Image

    folder = tmp_path / "flat"
    folder.mkdir()
    Image.new("RGB", (300, 200), (128, 128, 128)).save(folder / "grey.jpg")  # no detail for numpy to measure
    Image.new("L", (300, 200), 0).save(folder / "black.png")
    Image.new("RGB", (1, 1)).save(folder / "dot.png")
    env = {"PYTHONWARNINGS": ""}
    proc = subprocess.run([KEEPERS, "cull", "--workers", "1", str(folder)], capture_output=True, text=True,
                          env={**isolated_env(tmp_path), **env}, timeout=300)
    assert "Warning" not in proc.stderr, proc.stderr
    assert "dot.png" in proc.stdout  # the photo's problem is still said, as its error


def test_a_second_cull_of_an_unchanged_folder_gives_every_photo_the_very_same_verdict(shared_data, tmp_path):
    """The second run judges from the catalog's findings: it stored each reason's severity rounded to 3 places (as
    --json shows it), so frames of people with closed eyes came back a hundredth apart (3.38 -> 3.39, a cost 3.62 ->
    3.63) and a DAM comparing sidecars saw a change where nothing had."""
    folder = tmp_path / "clips"
    folder.mkdir()
    for clip in ("night", "sister"):
        for f in sorted((shared_data / "bursts/clips" / clip).glob("*.jpg")):
            shutil.copy(f, folder / f.name)
    first, second = (records(keepers("cull", "--json", "--dry-run", folder, tmp=tmp_path)) for _ in range(2))
    assert len(first) == 6 and second == first
