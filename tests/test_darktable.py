"""darktable, the real program (Debian package, headless under Xvfb): what it shows of the sidecars Keepers wrote, and
what plugins/darktable/keepers.lua writes into its library (rating, reject, colour labels, tags, groups).

Each test starts darktable with a throw-away library and config (`make interop` installs darktable when root);
without darktable the tests skip and say so."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from keepers.core.lab.demo import sample_photo as sample_rgb
from keepers.core.io.hosts import adapter_for
from keepers.core.types import Verdict
from keepers.core.io.xmp import SidecarWriter, read_sidecar

from helpers import isolated_env

ROOT = Path(__file__).resolve().parents[1]
LUARC = ROOT / "tests" / "lua" / "darktable_luarc.lua"
JSON_LUA = ROOT / "plugins" / "lightroom" / "keepers.lrplugin" / "JSON.lua"
SCRIPT_DIR = ROOT / "plugins" / "darktable"
FIXTURES = ROOT / "tests" / "fixtures" / "sidecars"

pytestmark = pytest.mark.skipif(not (shutil.which("darktable") and shutil.which("xvfb-run")),
                                reason="needs the real darktable and xvfb-run: `make interop` installs them as root "
                                       "(apt-get install darktable xvfb xauth)")


def _run(cmd: list[str], env: dict, timeout: int) -> tuple[str, str, bool]:
    """(stdout, stderr, hung); in its own session, so a hung darktable is killed with its Xvfb, not left behind."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        stdout, stderr = p.communicate(timeout=timeout)
        return stdout, stderr, False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGTERM)  # Xvfb removes its lock file on SIGTERM
        try:
            stdout, stderr = p.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            stdout, stderr = p.communicate()
        try:
            os.killpg(p.pid, signal.SIGKILL)  # a darktable that ignored SIGTERM
        except ProcessLookupError:
            pass
        return stdout, stderr, True


def darktable(folder: Path, tmp: Path, mode: str = "import", records=None, prefs=None, sidecars: str = "never",
              env: dict | None = None, timeout: int = 60) -> dict:
    """Run darktable headless on `folder`; returns {"images": {file: state}, "script": ..., "records": [...]}."""
    e = dict(env or os.environ)
    e.update(KEEPERS_DT_DIR=str(folder), KEEPERS_DT_MODE=mode, KEEPERS_JSON_LUA=str(JSON_LUA),
             KEEPERS_DT_SCRIPT_DIR=str(SCRIPT_DIR), KEEPERS_DT_PREFS=json.dumps(prefs or {}))
    if records is not None:
        (tmp / "records.json").write_text(json.dumps(records))
        e["KEEPERS_DT_RECORDS"] = str(tmp / "records.json")
    for _ in range(2):
        # darktable 4.2 can deadlock at start-up between its Lua threads (seen 2 in ~40 runs here, before our
        # code runs): one more try, in a fresh config (a killed darktable leaves a lock that makes it ask)
        cfg = tmp / f"dt-config-{mode}-{len(list(tmp.iterdir()))}"
        cfg.mkdir()
        shutil.copy(LUARC, cfg / "luarc")
        cmd = ["xvfb-run", "-a", "darktable", "--library", str(cfg / "library.db"), "--configdir", str(cfg),
               "--cachedir", str(cfg / "cache"), "--conf", f"write_sidecar_files={sidecars}"]
        stdout, stderr, hung = _run(cmd, e, timeout)
        if not hung:
            break
    else:
        pytest.fail(f"darktable did not finish in {timeout} s, twice:\n{stdout[-2000:]}\n{stderr[-2000:]}")
    out: dict = {"images": {}, "records": [], "script": None, "queue": None}
    for line in stdout.splitlines():
        kind, _, payload = line.partition(" ")
        if kind == "LUA_IMG":
            d = json.loads(payload)
            out["images"][d["file"]] = d
        elif kind == "LUA_RECORD":
            out["records"].append(json.loads(payload))
        elif kind == "LUA_SCRIPT":
            out["script"] = json.loads(payload)
        elif kind == "LUA_QUEUE":
            out["queue"] = json.loads(payload)["queued"]
    assert out["images"], f"darktable printed nothing:\n{stdout[-2000:]}\n{stderr[-3000:]}"
    return out


def jpeg(folder: Path, name: str, sample: str, crop: int = 1) -> Path:
    path = folder / name
    Image.fromarray(sample_rgb(sample)[::crop, ::crop]).save(path, quality=90)
    return path


def verdict(stars, keywords=(), **kw) -> Verdict:
    return Verdict(score=kw.pop("score", 5.0), verdict=kw.pop("verdict", "good" if stars >= 3 else "bad"),
                   confidence=0.8, stars=stars, reasons=[], keywords=list(keywords), **kw)


def expected_tags(keywords) -> list[str]:
    return sorted(f"Keepers|{k}" for k in keywords)


def test_darktable_shows_our_rating_reject_colour_label_and_tags_for_jpeg_and_raw_sidecars(tmp_path, shared_data):
    photos = tmp_path / "photos"
    photos.mkdir()
    reject = jpeg(photos, "coffee.jpg", "coffee")
    pick = jpeg(photos, "chelsea.jpg", "chelsea")
    raw = photos / "Blackmagic.dng"
    shutil.copy(shared_data / "camera" / "photos" / "Blackmagic.dng", raw)
    host = adapter_for(None, "darktable")
    with SidecarWriter() as w:
        w.write(reject, verdict(-1, ["flaw|motion blur"]), analyzers={}, host=host)
        w.write(pick, verdict(4, ["animal|cat", "group|burst", "group|pick"], group="g1", pick=True), analyzers={},
                host=host)
        w.write(raw, verdict(3, ["texture|wood"]), analyzers={}, host=host)
    assert sorted(p.name for p in photos.glob("*.xmp")) == ["Blackmagic.dng.xmp", "chelsea.jpg.xmp", "coffee.jpg.xmp"]
    seen = darktable(photos, tmp_path)["images"]
    assert seen["coffee.jpg"]["rating"] == -1 and seen["coffee.jpg"]["labels"] == ["red"]  # rejected, red
    assert seen["coffee.jpg"]["tags"] == ["Keepers|flaw|motion blur"]
    assert seen["chelsea.jpg"]["rating"] == 4 and seen["chelsea.jpg"]["labels"] == ["green"]
    assert seen["chelsea.jpg"]["tags"] == expected_tags(["animal|cat", "group|burst", "group|pick"])
    assert seen["Blackmagic.dng"]["rating"] == 3 and seen["Blackmagic.dng"]["labels"] == []
    assert seen["Blackmagic.dng"]["tags"] == ["Keepers|texture|wood"]


def test_darktable_keeps_the_photographers_flat_keywords_beside_ours(tmp_path):
    # darktable reads dc:subject only when there is no lr:hierarchicalSubject: the adapter copies flat keywords in
    photos = tmp_path / "photos"
    photos.mkdir()
    ours, plain = jpeg(photos, "ours.jpg", "astronaut"), jpeg(photos, "plain.jpg", "rocket")
    for p in (ours, plain):
        subprocess.run(["exiftool", "-q", "-o", f"{p}.xmp", "-XMP-dc:Subject=Lofoten", "-XMP-dc:Subject=boat"],
                       check=True)
    with SidecarWriter() as w:
        w.write(ours, verdict(4, ["animal|bird"]), analyzers={}, host=adapter_for(None, "darktable"))
        w.write(plain, verdict(4, ["animal|bird"]), analyzers={}, host=adapter_for(None, "generic"))
    seen = darktable(photos, tmp_path)["images"]
    assert seen["ours.jpg"]["tags"] == ["Keepers|animal|bird", "Lofoten", "boat"]
    assert seen["plain.jpg"]["tags"] == ["Keepers|animal|bird"]  # why: the generic sidecar loses them in darktable


def test_a_sidecar_darktable_created_on_import_gets_our_rating_and_darktable_reads_it_back(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    img = jpeg(photos, "imported.jpg", "coffee")
    darktable(photos, tmp_path, sidecars="on import")  # darktable writes imported.jpg.xmp with its import rating
    s = read_sidecar(photos / "imported.jpg.xmp")
    assert s["darktable_xmp_version"] is not None and s["rating"] == 1  # darktable's default, not the photographer's
    with SidecarWriter() as w:
        res = w.write(img, verdict(-1, ["flaw|underexposed"]), analyzers={}, host=adapter_for(None, "darktable"))
        generic = w.write(img, verdict(-1), analyzers={}, host=adapter_for(None, "generic"), dry_run=True)
    assert res.rating_written and not res.created and read_sidecar(res.sidecar)["rating"] == -1
    assert generic.rating_written  # by now it is Keepers' own rating (keepers:RatingSet) for every adapter
    seen = darktable(photos, tmp_path)["images"]["imported.jpg"]
    assert seen["rating"] == -1 and seen["labels"] == ["red"] and seen["tags"] == ["Keepers|flaw|underexposed"]


def _records(photos: Path) -> list[dict]:
    """`keepers cull --json` records (the contract the script reads), for a reject, a burst pick and two alternates."""
    def rec(name, stars, verdict_, keywords, group=None, pick=False):
        path = str(photos / name)
        return {"path": path, "files": [path], "score": 5.0, "verdict": verdict_, "confidence": 0.8, "stars": stars,
                "reasons": [], "keywords": keywords, "group": group, "pick": pick, "judged_by": "technical",
                "sidecars": [], "error": None}
    return [rec("a_reject.jpg", -1, "bad", ["flaw|out of focus"]),
            rec("b_burst1.jpg", 3, "good", ["group|alternate", "group|burst"], "g-1"),
            rec("c_burst2.jpg", 5, "good", ["animal|cat", "group|burst", "group|pick"], "g-1", True),
            rec("d_burst3.jpg", 2, "bad", ["group|alternate", "group|burst"], "g-1")]


def test_the_darktable_script_applies_rating_reject_labels_tags_and_groups_a_burst_behind_its_pick(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i, (name, sample) in enumerate([("a_reject.jpg", "coffee"), ("b_burst1.jpg", "chelsea"),
                                        ("c_burst2.jpg", "chelsea"), ("d_burst3.jpg", "chelsea")]):
        jpeg(photos, name, sample, crop=1 + i % 2)  # distinct files
    records = _records(photos)
    run = darktable(photos, tmp_path, "apply", records=records, env={**os.environ, "KEEPERS_DT_TWICE": "1"})
    seen = run["images"]
    assert run["script"] == {"name": "keepers", "has_destroy": True, "has_restart": True, "queued": 0}
    for rec in records:  # darktable's import rating (1) counted as unrated, so every rating is Keepers'
        s = seen[Path(rec["path"]).name]
        assert s["rating"] == rec["stars"]
        keepers_tags = [t for t in s["tags"] if t.startswith("Keepers|")]
        assert keepers_tags == expected_tags(rec["keywords"])
        assert f"darktable|keepers|rating|{rec['stars']}" in s["tags"]  # what Keepers set, hidden from exports
    assert seen["a_reject.jpg"]["labels"] == ["red"] and seen["c_burst2.jpg"]["labels"] == ["green"]
    assert seen["b_burst1.jpg"]["labels"] == [] == seen["d_burst3.jpg"]["labels"]
    assert {seen[n]["leader"] for n in ("b_burst1.jpg", "c_burst2.jpg", "d_burst3.jpg")} == {"c_burst2.jpg"}
    assert seen["a_reject.jpg"]["leader"] == "a_reject.jpg"


def test_the_darktable_script_leaves_the_photographers_rating_and_label_alone(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    img = jpeg(photos, "rated.jpg", "astronaut")
    # rated 5 and labelled green in darktable before (its own sidecar, as darktable reads it on import)
    side = photos / "rated.jpg.xmp"
    shutil.copy(FIXTURES / "darktable.xmp", side)
    subprocess.run(["exiftool", "-q", "-overwrite_original", "-XMP-xmp:Rating=5", str(side)], check=True)
    rec = {"path": str(img), "files": [str(img)], "stars": -1, "verdict": "bad", "keywords": ["flaw|noise"],
           "group": None, "pick": False, "score": 1.0, "reasons": [], "error": None}
    seen = darktable(photos, tmp_path, "apply", records=[rec])["images"]["rated.jpg"]
    assert seen["rating"] == 5  # theirs
    assert seen["labels"] == ["red", "green"]  # their green (darktable:colorlabels 2) stays; our red is added
    assert "Keepers|flaw|noise" in seen["tags"] and "places|Norway" in seen["tags"]


@pytest.mark.slow
def test_the_darktable_script_runs_the_real_keepers_command_on_imported_photos(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    jpeg(photos, "coffee.jpg", "coffee")
    jpeg(photos, "rocket.jpg", "rocket")
    blurred = Image.fromarray(sample_rgb("astronaut")).resize((64, 64)).resize((512, 512))
    blurred.save(photos / "blurred.jpg", quality=90)
    keepers = Path(sys.executable).with_name("keepers")
    run = darktable(photos, tmp_path, "analyze", prefs={"command": str(keepers)}, env=isolated_env(tmp_path),
                    sidecars="on import")
    assert run["queue"] == 3  # post-import-image queued every import
    assert len(run["records"]) == 3 and all(r.get("error") is None for r in run["records"])
    for rec in run["records"]:
        name = Path(rec["path"]).name
        s = run["images"][name]
        assert s["rating"] == rec["stars"], name
        assert [t for t in s["tags"] if t.startswith("Keepers|")] == expected_tags(rec["keywords"])
        # darktable wrote its own sidecar from its library: the same rating and keywords
        side = read_sidecar(photos / f"{name}.xmp")
        assert side["rating"] == rec["stars"]
        assert {f"Keepers|{k}" for k in rec["keywords"]} <= set(side["hierarchical"])


@pytest.fixture
def daemon(tmp_path):
    """A real `keepers serve` on a free port and an application key for tmp_path/photos (made by the CLI)."""
    photos = tmp_path / "photos"
    photos.mkdir()
    env = isolated_env(tmp_path)
    keepers = str(Path(sys.executable).with_name("keepers"))
    key = subprocess.run([keepers, "apps", "create", "darktable", "--root", str(photos)], env=env, text=True,
                         capture_output=True, timeout=60, check=True).stdout.strip()
    proc = subprocess.Popen([keepers, "serve", "--port", "0"], env=env, text=True, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, start_new_session=True)
    url, deadline = None, time.time() + 120
    while url is None and time.time() < deadline and proc.poll() is None:
        line = proc.stderr.readline()
        if "daemon on " in line:
            url = line.split("daemon on ", 1)[1].split()[0]
    try:
        assert url, "keepers serve did not start"
        yield SimpleNamespace(url=url, key=key, photos=photos, env=env)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.stderr.close()


def test_the_darktable_script_asks_the_daemon_when_one_is_set(tmp_path, daemon):
    for name, sample in (("coffee.jpg", "coffee"), ("chelsea.jpg", "chelsea")):
        jpeg(daemon.photos, name, sample)
    run = darktable(daemon.photos, tmp_path, "analyze", prefs={"daemon_url": daemon.url, "api_key": daemon.key,
                                                              "command": "/nonexistent/keepers"})
    assert run["queue"] == 2 and len(run["records"]) == 2, run["records"]
    for rec in run["records"]:  # a /v1/jobs record: the same contract as `keepers cull --json`
        s = run["images"][Path(rec["path"]).name]
        assert s["rating"] == rec["stars"]
        assert [t for t in s["tags"] if t.startswith("Keepers|")] == expected_tags(rec.get("keywords", []))
