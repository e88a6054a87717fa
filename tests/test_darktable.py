"""darktable, the real program (Debian package, headless under Xvfb): what it shows of the sidecars Keepers wrote, and
what plugins/darktable/keepers.lua writes into its library (rating, reject, colour labels, tags, groups), and the
script as a photographer meets it: stopped and started as script_manager does, without the keepers program, on a
large shoot in runs with a progress and a cancel, and in an export (no Keepers tag leaves).

Each test starts darktable with a throw-away library and config (`make interop` installs darktable when root);
without darktable the tests skip and say so."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from types import SimpleNamespace

import pytest
from PIL import Image

from keepers.core.lab.demo import sample_photo as sample_rgb
from keepers.core.io.hosts import adapter_for
from keepers.core.types import Verdict
from keepers.core.io.xmp import SidecarWriter, read_sidecar

from helpers import isolated_env, keepers

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


def _crash(output: str) -> str | None:
    """Where darktable crashed, from the backtrace its segfault handler prints (the first frames that name a
    function), or None when it did not crash. A crash is a segfault, or an abort: glibc stops a process whose heap it
    finds corrupted ("mremap_chunk(): invalid pointer", then the shell's "Aborted"; CI saw one in darktable's GTK
    teardown, after the script had printed its queue)."""
    aborted = any(line.strip().startswith("Aborted") for line in output.splitlines())
    if "reporting a segfault" not in output and "Segmentation fault" not in output and not aborted:
        return None
    frames = [l.strip() for l in output.splitlines() if re.match(r"\s*#\d+ ", l) and " in " in l]
    return "\n".join(frames[:12]) or output[-1500:]


def darktable(folder: Path, tmp: Path, mode: str = "import", records=None, prefs=None, sidecars: str = "never",
              env: dict | None = None, timeout: int = 60, allow_lua_errors: bool = False,
              conf: dict | None = None) -> dict:
    """Run darktable headless on `folder`; returns {"images": {file: state}, "script": ..., "records": [...],
    "analysis": ..., "manage": ..., "exports": ..., "stderr": ...}. `-d lua` puts the script's dt.print_error
    messages on stderr, where a photographer reads darktable's log."""
    e = dict(env or os.environ)
    e.update(KEEPERS_DT_DIR=str(folder), KEEPERS_DT_MODE=mode, KEEPERS_JSON_LUA=str(JSON_LUA),
             KEEPERS_DT_SCRIPT_DIR=str(SCRIPT_DIR), KEEPERS_DT_PREFS=json.dumps(prefs or {}))
    if records is not None:
        (tmp / "records.json").write_text(json.dumps(records))
        e["KEEPERS_DT_RECORDS"] = str(tmp / "records.json")
    for _ in range(3):
        # darktable 4.2 can deadlock between its Lua threads while a luarc imports (the luarc holds the Lua lock in
        # dt.database.import's GTK call while an import event waits for it; 1 in 8 runs of the "auto" mode here,
        # seen before our code runs too), and it sometimes crashes in its GTK main loop (a segfault, about one
        # darktable run in a few hundred across the suite; CI saw one in an export): up to two more tries, in a fresh
        # config (a killed darktable leaves a lock that makes it ask). A crash is said as a warning, with where it
        # crashed, so a crash our script causes shows up as a pattern, and three in a row fail the test
        cfg = tmp / f"dt-config-{mode}-{len(list(tmp.iterdir()))}"
        cfg.mkdir()
        shutil.copy(LUARC, cfg / "luarc")
        cmd = ["xvfb-run", "-a", "darktable", "--library", str(cfg / "library.db"), "--configdir", str(cfg),
               "--cachedir", str(cfg / "cache"), "--conf", f"write_sidecar_files={sidecars}", "-d", "lua"]
        for k, v in (conf or {}).items():
            cmd += ["--conf", f"{k}={v}"]
        stdout, stderr, hung = _run(cmd, e, timeout)
        crashed = _crash(stdout + stderr)
        if crashed:
            warnings.warn(f"darktable crashed (tried again in a fresh config):\n{crashed}")
        elif not hung:
            break
    else:
        pytest.fail(f"darktable did not finish or crashed, three times, last:\n{stdout[-2000:]}\n{stderr[-2000:]}")
    out: dict = {"images": {}, "records": [], "script": None, "queue": None, "analysis": None, "manage": None,
                 "exports": None, "failed": [], "stdout": stdout, "stderr": stderr}
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
        elif kind == "LUA_ANALYZE":
            out["analysis"] = json.loads(payload)
        elif kind == "LUA_MANAGE":
            out["manage"] = json.loads(payload)["steps"]
        elif kind == "LUA_EXPORT":
            out["exports"] = json.loads(payload)["handled"]
        elif kind == "LUA_BATCHES":
            out["batches"] = json.loads(payload)
        elif kind == "LUA_FAILED":
            out["failed"].append(json.loads(payload)["error"])
    assert out["images"], f"darktable printed nothing:\n{stdout[-2000:]}\n{stderr[-3000:]}"
    # with -d lua darktable logs (on stdout) a Lua error as "LUA ERROR ...", and the script's dt.print_error too
    lua_errors = [l for l in (stdout + stderr).splitlines() if "LUA ERROR" in l and "LUA ERROR keepers:" not in l]
    if not allow_lua_errors:
        assert not out["failed"] and not lua_errors, (out["failed"], stderr[-3000:])
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
    assert run["script"] == {"name": "keepers", "has_destroy": True, "has_restart": True, "queued": 0,
                             "destroy_method": "hide"}
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


KEEPERS = Path(sys.executable).with_name("keepers")


def three_photos(folder: Path) -> None:
    """Three photos taken two minutes apart (darktable takes a file's time when it has no EXIF date): no burst,
    so a batch may end between any two."""
    jpeg(folder, "coffee.jpg", "coffee")
    jpeg(folder, "rocket.jpg", "rocket")
    blurred = Image.fromarray(sample_rgb("astronaut")).resize((64, 64)).resize((512, 512))
    blurred.save(folder / "blurred.jpg", quality=90)
    start = time.time() - 3600
    for i, name in enumerate(("blurred.jpg", "coffee.jpg", "rocket.jpg")):
        os.utime(folder / name, (start + 120 * i, start + 120 * i))


@pytest.mark.slow
def test_the_darktable_script_runs_the_real_keepers_command_in_batches_on_a_symlinked_library(tmp_path):
    # the library folder is reached through a symlink, as on a NAS mount; two photos per run: 3 photos, 2 runs
    real = tmp_path / "disk" / "shoot"
    real.mkdir(parents=True)
    three_photos(real)
    photos = tmp_path / "photos"
    photos.symlink_to(real, target_is_directory=True)
    run = darktable(photos, tmp_path, "analyze", prefs={"executable_paths/keepers": str(KEEPERS), "batch": 2},
                    env=isolated_env(tmp_path), sidecars="on import", timeout=90)
    assert run["queue"] == 3  # post-import-image queued every import
    a = run["analysis"]
    assert a["error"] is False and a["runs"] == 2 and a["done"] == 3 and a["failed"] == 0, a
    assert a["progress"] == sorted(a["progress"]) and a["progress"][-1] == 1.0 and len(set(a["progress"])) >= 2
    assert len(run["records"]) == 3 and all(r.get("error") is None for r in run["records"])
    for rec in run["records"]:
        name = Path(rec["path"]).name
        s = run["images"][name]
        assert s["rating"] == rec["stars"], name
        assert [t for t in s["tags"] if t.startswith("Keepers|")] == expected_tags(rec["keywords"])
        # darktable wrote its own sidecar from its library: the same rating and keywords
        side = read_sidecar(real / f"{name}.xmp")
        assert side["rating"] == rec["stars"]
        assert {f"Keepers|{k}" for k in rec["keywords"]} <= set(side["hierarchical"])


@pytest.mark.slow
def test_cancelling_the_darktable_analysis_stops_it_after_the_run_in_progress(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    three_photos(photos)
    run = darktable(photos, tmp_path, "analyze", prefs={"executable_paths/keepers": str(KEEPERS), "batch": 1},
                    env={**isolated_env(tmp_path), "KEEPERS_DT_CANCEL_AFTER": "1"}, timeout=90)
    a = run["analysis"]
    assert a["cancelled"] is True and a["error"] == "cancelled" and a["runs"] == 1 and a["done"] == 1, a
    assert "LUA ERROR keepers: cancelled (1 of 3 photo(s) rated and tagged)" in run["stdout"]
    rated = [n for n, s in run["images"].items() if any(t.startswith("Keepers|") or t.startswith("darktable|keepers|")
                                                         for t in s["tags"])]
    assert len(rated) == 1  # the two photos after the cancel are untouched


@pytest.mark.slow
def test_analyze_on_import_runs_after_a_folder_import_with_a_moving_progress(tmp_path):
    # the import's post-import-film event only hands the work to dt.control.dispatch; the analysis runs after it
    photos = tmp_path / "photos"
    photos.mkdir()
    three_photos(photos)
    run = darktable(photos, tmp_path, "auto", prefs={"executable_paths/keepers": str(KEEPERS), "batch": 1,
                                                      "auto_analyze": True}, env=isolated_env(tmp_path), timeout=90)
    a = run["analysis"]
    assert a["runs"] == 3 and a["done"] == 3 and a["failed"] == 0, a
    assert [round(p, 2) for p in a["progress"]] == [0.33, 0.67, 1.0]
    assert set(run["images"]) == {"blurred.jpg", "coffee.jpg", "rocket.jpg"}
    blurred = run["images"]["blurred.jpg"]
    assert blurred["rating"] == -1 and "Keepers|flaw|out of focus" in blurred["tags"]
    for s in run["images"].values():
        assert f"darktable|keepers|rating|{s['rating']}" in s["tags"]  # every photo rated by Keepers


def test_a_10000_photo_shoot_is_analysed_in_runs_of_about_200_photos_that_never_split_a_burst(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    jpeg(photos, "coffee.jpg", "coffee")
    b = darktable(photos, tmp_path, "batches")["batches"]
    assert sum(b["sizes"]) == 10_000 and b["split_bursts"] == 0
    assert all(200 <= n <= 206 for n in b["sizes"][:-1]), b["sizes"]  # a burst is 7 frames
    assert b["seconds"] < 5


def _no_keepers_on_path(tmp: Path) -> dict:
    env = isolated_env(tmp)
    env["PATH"] = os.pathsep.join(d for d in env["PATH"].split(os.pathsep)
                                  if not (Path(d) / "keepers").exists())
    return env


@pytest.mark.parametrize("where, said", [
    (None, "keepers was not found on the PATH"),
    ("/nonexistent/bin/keepers", "keepers was not found at /nonexistent/bin/keepers"),
])
def test_a_missing_keepers_program_is_reported_not_counted_as_zero_photos(tmp_path, where, said):
    photos = tmp_path / "photos"
    photos.mkdir()
    jpeg(photos, "coffee.jpg", "coffee")
    run = darktable(photos, tmp_path, "analyze", prefs={"executable_paths/keepers": where} if where else {},
                    env=_no_keepers_on_path(tmp_path))
    a = run["analysis"]
    assert said in a["error"] and a["done"] == 0, a
    # dt.print_error: darktable's log (-d lua); dt.print shows the same on screen
    assert f"LUA ERROR keepers: {said}" in run["stdout"]
    assert run["images"]["coffee.jpg"]["rating"] == 1  # darktable's import rating, untouched


SECOND_SCRIPT = """
local dt = require "darktable"
dt.register_event("second_import", "post-import-image", function() end)
print("LUA_SECOND loaded")
return { destroy = function() dt.destroy_event("second_import", "post-import-image") end }
"""


def test_script_manager_can_stop_and_start_the_script_and_the_next_script_still_loads(tmp_path):
    # script_manager.lua (lua-scripts) is not packaged by Debian, PyPI or npm, so the calls it makes on a script
    # whose destroy_method is "hide" are replayed: show right after loading, destroy on stop, restart on start
    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        jpeg(photos, name, "coffee", crop=1 + len(list(photos.iterdir())))
    second = tmp_path / "second"
    second.mkdir()
    (second / "second.lua").write_text(SECOND_SCRIPT)
    run = darktable(photos, tmp_path, "manage", env={**os.environ, "KEEPERS_DT_SECOND_DIR": str(second)},
                    allow_lua_errors=True)
    steps = {s["step"]: s for s in run["manage"]}
    assert run["failed"] == [] and all(s["ok"] for s in run["manage"]), run["failed"]
    assert "duplicate index" not in run["stdout"] + run["stderr"]
    assert steps["import"]["queued"] == 1
    assert steps["import while stopped"]["queued"] == 1  # stopped: imports are not queued
    assert steps["import after start"]["queued"] == 2  # started again: they are, once each
    assert "LUA_SECOND loaded" in run["stdout"]


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
                                                              "executable_paths/keepers": "/nonexistent/keepers"})
    assert run["queue"] == 2 and len(run["records"]) == 2, run["records"]
    for rec in run["records"]:  # a /v1/jobs record: the same contract as `keepers cull --json`
        s = run["images"][Path(rec["path"]).name]
        assert s["rating"] == rec["stars"]
        assert [t for t in s["tags"] if t.startswith("Keepers|")] == expected_tags(rec.get("keywords", []))


def _export(tmp_path: Path, prefs: dict | None = None, hierarchical: bool = False) -> dict[str, dict]:
    """Apply a reject's and a burst pick's records in darktable, then export both with the export module (disk,
    JPEG); the keywords of each exported file, as exiftool reads them. The pick carries the photographer's own tags
    places|Norway and cat. darktable's default export metadata writes tags to dc:subject only; `hierarchical` also
    ticks "hierarchical tags" (lr:hierarchicalSubject)."""
    photos, exports = tmp_path / "photos", tmp_path / "exports"
    photos.mkdir()
    exports.mkdir()
    jpeg(photos, "a_reject.jpg", "coffee")
    jpeg(photos, "c_burst2.jpg", "chelsea")
    subprocess.run(["exiftool", "-q", "-o", str(photos / "c_burst2.jpg.xmp"),
                    "-XMP-lr:HierarchicalSubject=places|Norway", "-XMP-lr:HierarchicalSubject=cat"], check=True)
    records = [r for r in _records(photos) if Path(r["path"]).name in ("a_reject.jpg", "c_burst2.jpg")]
    conf = {"plugins/lighttable/export/storage_name": "disk", "plugins/lighttable/export/format_name": "jpeg",
            "plugins/imageio/storage/disk/file_directory": f"{exports}/$(FILE_NAME)"}
    if hierarchical:  # exif, metadata, geo tags, tags, hierarchical tags, develop history
        conf["plugins/lighttable/export/metadata_flags"] = "3f"
    run = darktable(photos, tmp_path, "export", records=records, prefs=prefs, conf=conf)
    assert run["exports"] == 2
    assert "Keepers|animal|cat" in run["images"]["c_burst2.jpg"]["tags"]  # in darktable, the tags are there
    got = {}
    for d in json.loads(subprocess.run(["exiftool", "-j", "-XMP-dc:Subject", "-XMP-lr:HierarchicalSubject",
                                        "-IPTC:Keywords", *sorted(map(str, exports.glob("*.jpg")))],
                                       capture_output=True, text=True, check=True).stdout):
        as_set = lambda v: set(v) if isinstance(v, list) else (set() if v is None else {str(v)})  # noqa: E731
        got[Path(d["SourceFile"]).stem] = {"flat": as_set(d.get("Subject")) | as_set(d.get("Keywords")),
                                           "hierarchical": as_set(d.get("HierarchicalSubject"))}
    assert set(got) == {"a_reject", "c_burst2"}
    return got


JUDGEMENT_WORDS = {"flaw", "out of focus", "group", "burst", "pick", "alternate"}


def test_a_darktable_export_carries_none_of_keepers_tags_and_all_of_the_photographers(tmp_path):
    got = _export(tmp_path)
    for name, kw in got.items():
        assert not kw["flat"] & (JUDGEMENT_WORDS | {"Keepers", "animal"}), (name, kw)
        assert not [h for h in kw["hierarchical"] if h.startswith("Keepers")], (name, kw)
    # the photographer's keywords leave as darktable exports them; "cat" stays although Keepers|animal|cat is ours
    assert got["c_burst2"]["flat"] == {"places", "Norway", "cat"}
    assert got["a_reject"]["flat"] == set()


def test_with_export_content_tags_a_darktable_export_carries_our_content_tags_but_no_judgement(tmp_path):
    got = _export(tmp_path, prefs={"export_content_tags": True}, hierarchical=True)
    assert got["c_burst2"]["hierarchical"] == {"places|Norway", "cat", "Keepers|animal|cat"}
    assert {"Keepers", "animal", "cat", "Norway"} <= got["c_burst2"]["flat"]
    for name, kw in got.items():
        assert not kw["flat"] & JUDGEMENT_WORDS, (name, kw)


def test_the_install_step_keepers_hosts_prints_loads_the_script_in_darktable(tmp_path):
    # a photographer follows `keepers hosts` word for word: copying the script alone loads nothing (darktable runs
    # only its luarc), so the step must name the luarc line too
    out = keepers("hosts", tmp=tmp_path).stdout
    step = next(l for l in out.splitlines() if l.startswith("darktable script:"))
    folder = re.search(r"copy to ~/\.config/darktable/(\S+?)/?[,)]", step)
    line = re.search(r"add the line\s+(.+?)\s+to ~/\.config/darktable/luarc", step)
    assert folder and line, step
    cfg = tmp_path / "darktable"  # stands for ~/.config/darktable
    (cfg / folder.group(1)).mkdir(parents=True)
    shutil.copy(SCRIPT_DIR / "keepers.lua", cfg / folder.group(1))
    (cfg / "luarc").write_text(line.group(1) + "\n" + 'local dt = require "darktable"\n'
                               'print("LUA_LIB " .. tostring(dt.gui.libs["keepers"] ~= nil))\n'
                               "io.stdout:flush()\nos.exit(0)\n")
    for _ in range(3):  # darktable 4.2 sometimes hangs at start-up under Xvfb (see darktable() above)
        stdout, stderr, hung = _run(["xvfb-run", "-a", "darktable", "--library", str(cfg / "library.db"),
                                     "--configdir", str(cfg), "--cachedir", str(cfg / "cache"), "-d", "lua"],
                                    dict(os.environ), 60)
        if not hung:
            break
    assert "LUA_LIB true" in stdout, (stdout[-2000:], stderr[-2000:])
    assert "LUA ERROR" not in stdout + stderr
