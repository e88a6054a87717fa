"""The Lightroom Classic plug-in (plugins/lightroom/keepers.lrplugin), run by Lua 5.1 under an SDK stand-in
(tests/lua/sdk.lua) whose LrHttp talks to a real `keepers serve` on 127.0.0.1; what the plug-in wrote into the
stand-in catalog is compared with what the daemon answers to the same questions."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from keepers.core.lab.demo import build
from keepers.core.io.hosts import role

from helpers import KEEPERS, isolated_env

ROOT = Path(__file__).resolve().parents[1]
PLUGIN = ROOT / "plugins" / "lightroom" / "keepers.lrplugin"
RUN = ROOT / "tests" / "lua" / "run.lua"
LUA = shutil.which("lua5.1")
PICK = {"reject": -1, "pick": 1, "keeper": 1, "alternate": 0, "other": 0}
LABEL = {"reject": "red", "pick": "green"}  # the plug-in's default colours; the other roles get none

needs_lua = pytest.mark.skipif(LUA is None, reason="needs lua5.1 (apt-get install lua5.1)")


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    """A real daemon on a free port, with an application (and its key) made by the CLI for a demo photo folder."""
    if LUA is None:
        pytest.skip("needs lua5.1 (apt-get install lua5.1)")
    tmp = tmp_path_factory.mktemp("lightroom")
    photos = tmp / "photos"
    build(photos)  # real sample photos, blurred/dark variants and a 4-frame burst
    env = isolated_env(tmp)
    key = subprocess.run([KEEPERS, "apps", "create", "lightroom", "--root", str(photos)], env=env, text=True,
                         capture_output=True, timeout=60, check=True).stdout.strip()
    proc = subprocess.Popen([KEEPERS, "serve", "--port", "0"], env=env, text=True, stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, start_new_session=True)
    url, deadline = None, time.time() + 120
    while url is None and time.time() < deadline:
        line = proc.stderr.readline()
        if not line and proc.poll() is not None:
            break
        if "daemon on " in line:
            url = line.split("daemon on ", 1)[1].split()[0]
    if url is None:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("keepers serve did not start")
    yield SimpleNamespace(url=url, key=key, photos=photos, tmp=tmp)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.stderr.close()


def api(d, method: str, path: str, body=None) -> tuple[int, dict]:
    req = urllib.request.Request(d.url + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {d.key}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=600) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def job_records(d, paths: list[str]) -> list[dict]:
    status, job = api(d, "POST", "/v1/jobs", {"paths": paths, "write": False})
    assert status == 202, job
    while job["state"] in ("queued", "running"):
        time.sleep(0.2)
        job = api(d, "GET", f"/v1/jobs/{job['id']}")[1]
    return api(d, "GET", f"/v1/jobs/{job['id']}/results")[1]["results"]


def lua(d, tmp: Path, scenario: dict, timeout: int = 900) -> dict:
    """Run a scenario under the SDK stand-in (tests/lua/run.lua); returns the catalog afterwards and what
    happened. The API key is in LrPasswords, as the plug-in keeps it, unless the scenario says otherwise."""
    scenario = {"passwords": {"apiKey": d.key}, **scenario, "prefs": {"url": d.url, **scenario.get("prefs", {})}}
    (tmp / "scenario.json").write_text(json.dumps(scenario))
    p = subprocess.run([LUA, str(RUN), str(PLUGIN), str(tmp / "scenario.json"), str(tmp / "out.json")],
                       capture_output=True, text=True, timeout=timeout)
    assert p.returncode == 0, p.stderr
    out = json.loads((tmp / "out.json").read_text())
    out["by_path"] = {}
    for ph in out["photos"]:
        out["by_path"].setdefault(ph["path"], []).append(ph)
    return out


def plugin(d, tmp: Path, script: str, photos: list[dict], **prefs) -> dict:
    """Run one menu item's file under the SDK stand-in."""
    return lua(d, tmp, {"script": script, "photos": photos, "prefs": prefs})


def expect(photo: dict, v: dict, initial: dict | None = None) -> None:
    """What the plug-in must have written for verdict `v` on a photo that had nothing of the photographer's."""
    r = role(SimpleNamespace(stars=v["stars"], keywords=v["keywords"], pick=v["pick"], group=v["group"],
                             verdict=v["verdict"]))
    assert photo.get("rating") == (max(0, v["stars"]) or None), photo["path"]
    assert photo["pickStatus"] == PICK[r], photo["path"]
    assert photo["label"] == LABEL.get(r, "none"), photo["path"]
    assert [k for k in photo["keywords"] if k.startswith("Keepers|")] == sorted(f"Keepers|{k}" for k in v["keywords"])
    assert photo["properties"]["score"] == f"{v['score']:.1f}" and photo["properties"]["verdict"] == v["verdict"]
    # the reasons as `keepers show` lists them: a keeper's flaw that cost nothing left out
    assert photo["properties"]["reasons"] == "; ".join(
        x["message"] for x in v["reasons"] if not (x["role"] == "measured" and v["verdict"] == "good")), photo["path"]


@needs_lua
def test_luac_5_1_accepts_every_lua_file():
    files = sorted(PLUGIN.glob("*.lua")) + [ROOT / "plugins" / "darktable" / "keepers.lua"] + \
        sorted((ROOT / "tests" / "lua").glob("*.lua"))
    assert len(files) >= 14
    for f in files:
        p = subprocess.run(["luac5.1", "-p", str(f)], capture_output=True, text=True)
        assert p.returncode == 0, f"{f.name}: {p.stderr}"
    menu = subprocess.run([LUA, "-e", f"local t = dofile('{PLUGIN / 'Info.lua'}') "
                                      "for _, m in ipairs(t.LrLibraryMenuItems) do print(m.title) print(m.file) end"],
                          capture_output=True, text=True, check=True).stdout.splitlines()
    pairs = dict(zip(menu[::2], menu[1::2]))
    assert {"Analyze selected photos", "Cull bursts", "Find similar"} <= set(pairs)
    assert all((PLUGIN / f).is_file() for f in pairs.values())


@needs_lua
def test_the_json_module_reads_what_python_writes_and_writes_what_python_reads(tmp_path):
    value = {"path": "/photos/été 🌅/IMG_1.CR3", "n": [1, -2.5, 3e-7, None, True, False], "nested": {"a": [], "b": {}},
             "quote": 'say "cheese"\\\n\t', "control": "\x01"}
    src = tmp_path / "in.json"
    src.write_text(json.dumps(value))  # ASCII with \u escapes and a surrogate pair
    code = (f"local JSON = dofile('{PLUGIN / 'JSON.lua'}') local f = io.open('{src}') "
            "local v = JSON.decode(f:read('*a')) assert(v.n.n == 6 and v.n[4] == nil and v.n[5] == true) "
            "io.write(JSON.encode(v))")
    out = subprocess.run([LUA, "-e", code], capture_output=True, text=True, check=True).stdout
    back = json.loads(out)
    value["n"][3] = None
    assert back["path"] == value["path"] and back["quote"] == value["quote"] and back["control"] == "\x01"
    assert back["n"][:3] == [1, -2.5, 3e-7] and back["n"][4:] == [True, False]
    assert back["nested"] == {"a": [], "b": {}}


def by_path(records: list[dict]) -> dict[str, dict]:
    return {f: r for r in records for f in r["files"]}


def test_analyze_selected_writes_the_daemons_verdicts_and_groups_bursts(daemon, tmp_path):
    paths = sorted(str(p) for p in daemon.photos.glob("*.jpg"))
    out = plugin(daemon, tmp_path, "AnalyzeSelected.lua", [{"path": p} for p in paths])
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", out["dialogs"]
    # one gate per keyword level (a new keyword is usable only after its gate), then the photos
    assert set(out["gates"]) == {"Keepers: create keywords", "Keepers: apply verdicts"}
    assert out["gates"][-1] == "Keepers: apply verdicts"
    assert {h["url"].split("/v1/")[1].split("/")[0] for h in out["http"]} == {"jobs"}  # one job: bursts across it
    records = by_path(job_records(daemon, paths))
    roles = set()
    for path in paths:
        expect(out["by_path"][path][0], records[path])
        roles.add(role(SimpleNamespace(**{k: records[path][k] for k in ("stars", "keywords", "pick", "group",
                                                                         "verdict")})))
    assert {"reject", "keeper", "pick", "alternate"} <= roles  # the demo burst: one pick, the others alternates
    burst = [out["by_path"][p][0] for p in paths if Path(p).name.startswith("burst_")]
    assert sum(b["pickStatus"] == 1 for b in burst) == 1, burst  # not every good frame of the burst is a pick


def test_the_photographers_rating_flag_label_and_keywords_stay_theirs(daemon, tmp_path):
    p = str(daemon.photos / "coffee_shaken.jpg")
    mine = {"path": p, "rating": 4, "pickStatus": 1, "label": "blue", "keywords": ["places|Norway", "Keepers|stale"]}
    earlier = {"path": str(daemon.photos / "coffee_dark.jpg"), "rating": 2, "pickStatus": 1, "label": "green",
               "properties": {"ratingSet": "2", "pickSet": "1", "labelSet": "green"}}  # all three set by Keepers
    out = plugin(daemon, tmp_path, "AnalyzeSelected.lua", [mine, earlier])
    v = by_path(job_records(daemon, [p, earlier["path"]]))
    got = out["by_path"][p][0]
    assert (got.get("rating"), got["pickStatus"], got["label"]) == (4, 1, "blue")
    assert "places|Norway" in got["keywords"] and "Keepers|stale" not in got["keywords"]
    assert {f"Keepers|{k}" for k in v[p]["keywords"]} <= set(got["keywords"])
    expect(out["by_path"][earlier["path"]][0], v[earlier["path"]])  # Keepers' own values are Keepers' to update


def test_cull_bursts_puts_picks_and_alternates_into_collections_under_keepers(daemon, tmp_path):
    paths = sorted(str(p) for p in daemon.photos.glob("burst_*.jpg")) + [str(daemon.photos / "rocket.jpg")]
    out = plugin(daemon, tmp_path, "CullBursts.lua", [{"path": p} for p in paths])
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", out["dialogs"]
    records = by_path(job_records(daemon, paths))
    for path in paths:
        expect(out["by_path"][path][0], records[path])
    groups = {r["group"] for r in records.values() if r["group"]}
    assert groups, "the demo burst should form a group"
    coll = {c["name"]: c for c in out["collections"]}
    assert {c["set"] for c in coll.values()} == {"Keepers"}
    picks = sorted(p for p, r in records.items() if r["group"] and r["pick"] and r["stars"] != -1)
    alternates = sorted(p for p, r in records.items() if "group|alternate" in r["keywords"] and r["stars"] != -1)
    assert coll["Burst picks"]["photos"] == picks and len(picks) == len(groups)
    assert coll["Burst alternates"]["photos"] == alternates and alternates
    assert coll["Rejects"]["photos"] == sorted(p for p, r in records.items() if r["stars"] == -1)
    assert "Keepers|group|burst" in out["by_path"][picks[0]][0]["keywords"]


def test_find_similar_collects_the_daemons_hits_and_shows_them(daemon, tmp_path):
    paths = sorted(str(p) for p in daemon.photos.glob("*.jpg"))
    target = str(daemon.photos / "coffee.jpg")
    api(daemon, "POST", "/v1/predict", {"paths": paths})  # the library knows them
    status, hits = api(daemon, "POST", "/v1/search/similar", {"path": target, "k": 24})
    if status == 501:
        pytest.skip(f"this installation has no similarity search: {hits}")
    assert status == 200, hits
    photos = [{"path": p, "selected": p == target} for p in paths]
    out = plugin(daemon, tmp_path, "FindSimilar.lua", photos)
    assert out["errors"] == [], out["errors"]
    coll = {c["name"]: c for c in out["collections"]}["Similar to coffee.jpg"]
    assert coll["set"] == "Keepers" and out["active_source"] == "Similar to coffee.jpg"
    assert coll["photos"] == sorted({target} | {h["path"] for h in hits["results"]})
    # the same library through a symlink: the hits come in that form, so the catalog finds them
    link = daemon.tmp / "similar-link"
    link.symlink_to(daemon.photos, target_is_directory=True)
    linked = [{"path": str(link / Path(p).name), "selected": p == target} for p in paths]
    out = plugin(daemon, tmp_path, "FindSimilar.lua", linked)
    coll = {c["name"]: c for c in out["collections"]}["Similar to coffee.jpg"]
    assert coll["photos"] == sorted({str(link / Path(p).name) for p in [target] + [h["path"] for h in
                                                                                   hits["results"]]})


# --- real shoot sizes: 5,000 photos, a symlinked library, cancel -----------------------------------------------


SHOOT = 5000


@pytest.fixture(scope="module")
def shoot(daemon):
    """5,000 photos in the daemon's library: 100 small real photos (320x240 crops of scikit-image's), which the
    daemon analyses first (a predict, ~0.13 s each), each copied 50 times, interleaved so that neighbouring names
    are different photos. The daemon adopts a copy from its catalog by content hash instead of analysing it again:
    5,000 real analyses would take ten minutes here."""
    from keepers.core.lab.demo import sample_photo

    originals, folder = daemon.photos / "originals", daemon.photos / "shoot"
    originals.mkdir()
    folder.mkdir()
    distinct = []
    for name in ("astronaut", "chelsea", "coffee", "rocket", "motorcycle"):
        img = sample_photo(name)
        for i in range(20):
            y, x = (i * 17) % max(1, img.shape[0] - 240), (i * 29) % max(1, img.shape[1] - 320)
            buf = io.BytesIO()
            Image.fromarray(np.ascontiguousarray(img[y:y + 240, x:x + 320])).save(buf, "JPEG", quality=85)
            distinct.append(buf.getvalue())
            (originals / f"{name}_{i:02d}.jpg").write_bytes(distinct[-1])
    status, primed = api(daemon, "POST", "/v1/predict", {"paths": sorted(str(p) for p in originals.iterdir())})
    assert status == 200 and all(r["verdict"] for r in primed["results"]), primed
    paths = []
    for i in range(SHOOT):
        p = folder / f"IMG_{i:04d}.jpg"
        p.write_bytes(distinct[i % len(distinct)])
        paths.append(str(p))
    return SimpleNamespace(folder=folder, paths=paths)


def rated_as_answered(out: dict, records: dict[str, dict], paths: list[str]) -> None:
    """Every photo got its record's verdict, stars and flag (nothing of the photographer's was there)."""
    for path in paths:
        got, v = out["by_path"][path][0], records[path]
        assert got["properties"].get("verdict") == v["verdict"] and got.get("rating") == (max(0, v["stars"]) or None)
        assert got["pickStatus"] == PICK[role(SimpleNamespace(**{k: v[k] for k in ("stars", "keywords", "pick",
                                                                                     "group", "verdict")}))]


def plugin_records(d, out: dict) -> dict[str, dict]:
    """The records of the jobs the plug-in ran (read again in full), by file."""
    ids = dict.fromkeys(h["url"].split("/v1/jobs/")[1].split("/")[0].split("?")[0] for h in out["http"]
                        if "/v1/jobs/" in h["url"])
    return by_path([r for i in ids for r in api(d, "GET", f"/v1/jobs/{i}/results")[1]["results"]])


def jobs_sent(out: dict) -> list[int]:
    """How many paths each POST /v1/jobs of the run carried."""
    return [len(json.loads(h["body"])["paths"]) for h in out["http"] if h["method"] == "POST"
            and h["url"].endswith("/v1/jobs")]


def test_cull_bursts_on_5000_photos_rates_every_photo(daemon, shoot, tmp_path):
    t = time.monotonic()
    out = lua(daemon, tmp_path, {"script": "CullBursts.lua", "photos": [{"path": p} for p in shoot.paths]})
    took = time.monotonic() - t
    from datetime import datetime

    [job_id] = {h["url"].split("/v1/jobs/")[1].split("/")[0].split("?")[0] for h in out["http"]
                if "/v1/jobs/" in h["url"]}
    job = api(daemon, "GET", f"/v1/jobs/{job_id}")[1]
    spent = datetime.fromisoformat(job["finished_at"]) - datetime.fromisoformat(job["created_at"])
    print(f"Cull bursts on {SHOOT} photos through the harness: {took:.1f} s, of which the daemon's job "
          f"{spent.total_seconds():.0f} s")
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", (out["errors"], out["dialogs"][-1:])
    assert out["dialogs"][-1]["message"].startswith(f"{SHOOT} photo(s)")
    assert jobs_sent(out) == [SHOOT]  # one job: bursts are found across the whole shoot, not per 1,000
    assert all(h["status"] < 400 for h in out["http"])
    rated_as_answered(out, plugin_records(daemon, out), shoot.paths)
    [scope] = out["scopes"]
    assert scope["done"] and not scope["canceled"] and scope["portions"] == sorted(scope["portions"])
    assert len(set(scope["portions"])) >= 4 and scope["portions"][-1] == pytest.approx(1)  # it moved, ended full
    # written a chunk at a time (the harness fails a gate over 1,000 photos)
    assert out["gates"].count("Keepers: apply verdicts") == SHOOT // 500


def test_cull_bursts_on_a_symlinked_library_rates_every_photo(daemon, shoot, tmp_path):
    # Lightroom knows the library by a path through a symlink (as a mapped drive on Windows): the daemon reads
    # the real files and must answer in Lightroom's form, or every lookup misses ("0 photo(s)")
    link = daemon.tmp / "library-link"
    if not link.exists():
        link.symlink_to(daemon.photos, target_is_directory=True)
    paths = [str(link / Path(p).relative_to(daemon.photos)) for p in shoot.paths[:1000]]
    paths += sorted(str(link / p.name) for p in daemon.photos.glob("*.jpg"))
    out = lua(daemon, tmp_path, {"script": "CullBursts.lua", "photos": [{"path": p} for p in paths]})
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", (out["errors"], out["dialogs"][-1:])
    assert out["dialogs"][-1]["message"].startswith(f"{len(paths)} photo(s)")
    records = plugin_records(daemon, out)
    assert set(records) == set(paths)  # every record in Lightroom's form
    rated_as_answered(out, records, paths)
    coll = {c["name"]: c for c in out["collections"]}
    assert coll["Burst picks"]["photos"] and all(p.startswith(str(link)) for p in coll["Burst picks"]["photos"])


def test_a_cancel_stops_the_daemons_job_and_changes_no_photo(daemon, tmp_path):
    from keepers.core.lab.demo import sample_photo

    folder = daemon.photos / "to_cancel"  # photos the daemon never saw: analysed one by one, seconds of work
    folder.mkdir()
    paths = []
    for i in range(40):
        img = sample_photo(("astronaut", "chelsea", "rocket", "coffee")[i % 4])
        p = folder / f"new_{i:02d}.jpg"
        Image.fromarray(np.ascontiguousarray(img[i * 3:i * 3 + 300, i * 5:i * 5 + 400])).save(p, quality=90)
        paths.append(str(p))
    out = lua(daemon, tmp_path, {"script": "CullBursts.lua", "photos": [{"path": p} for p in paths],
                                 "cancel_at": 0.05})  # the user clicks the bar's X once it shows 5%
    assert out["errors"] == []
    assert out["dialogs"][-1]["message"].startswith("Cancelled"), out["dialogs"]
    assert not [g for g in out["gates"] if g == "Keepers: apply verdicts"]
    assert all(p["properties"] == {} and p.get("rating") is None for p in out["photos"])
    cancels = [h for h in out["http"] if h["url"].endswith("/cancel")]
    assert len(cancels) == 1 and cancels[0]["status"] == 200
    job_id = cancels[0]["url"].split("/v1/jobs/")[1].split("/")[0]
    deadline = time.monotonic() + 60
    while api(daemon, "GET", f"/v1/jobs/{job_id}")[1]["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.2)
    job = api(daemon, "GET", f"/v1/jobs/{job_id}")[1]
    assert job["state"] == "cancelled" and job["done"] < len(paths), job


def test_a_cancel_while_writing_stops_between_chunks_and_says_how_far_it_got(daemon, shoot, tmp_path):
    paths = shoot.paths[:1500]
    out = lua(daemon, tmp_path, {"script": "AnalyzeSelected.lua", "photos": [{"path": p} for p in paths],
                                 "cancel_at": 0.9})  # past the daemon's part (80%): while the photos are written
    assert out["errors"] == []
    written = [p for p in out["photos"] if p["properties"].get("verdict")]
    assert 0 < len(written) < len(paths) and len(written) % 500 == 0
    assert out["dialogs"][-1]["style"] == "warning"
    assert out["dialogs"][-1]["message"].startswith(f"Cancelled after {len(written)} of {len(paths)} photo(s)")


@needs_lua
def test_an_answer_matching_no_photo_and_a_photo_without_answer_are_both_reported(tmp_path):
    code = """
      local Keepers = require "Keepers"
      local photos = catalog:getAllPhotos()
      local byPath, paths = Keepers.byPath(catalog, photos)
      local records = {
        { input = "/lib/a.jpg", path = "/lib/a.jpg", files = { "/lib/a.jpg" }, verdict = "good", stars = 3 },
        { input = "/elsewhere/x.jpg", path = "/elsewhere/x.jpg", files = { "/elsewhere/x.jpg" }, verdict = "good",
          stars = 2 },
        { input = "/lib/c.jpg", path = "/lib/c.jpg", files = { "/lib/c.jpg" }, error = "no such file" },
      }
      local items, errors = Keepers.match(records, byPath, paths, false)
      return { items = #items, errors = errors }
    """
    (tmp_path / "s.json").write_text(json.dumps({"code": code, "photos": [
        {"path": "/lib/a.jpg"}, {"path": "/lib/b.jpg"}, {"path": "/lib/c.jpg"}]}))
    subprocess.run([LUA, str(RUN), str(PLUGIN), str(tmp_path / "s.json"), str(tmp_path / "o.json")], check=True)
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["errors"] == [] and out["result"]["items"] == 1
    assert sorted(out["result"]["errors"]) == sorted([
        "/elsewhere/x.jpg: the daemon's answer matches no photo sent (a path changed?)",
        "/lib/c.jpg: no such file", "/lib/b.jpg: no answer from the daemon"])


# --- daily use: the key, exports, the background loop, the photographer's signals -------------------------------


def test_the_api_key_lives_in_lrpasswords_and_a_key_left_in_the_prefs_moves_there(daemon, tmp_path):
    photo = {"path": str(daemon.photos / "rocket.jpg")}
    out = lua(daemon, tmp_path, {"script": "AnalyzeSelected.lua", "photos": [photo], "passwords": {},
                                 "prefs": {"apiKey": daemon.key}})  # where version 0.1 kept it
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", out["dialogs"]
    assert out["passwords"] == {"apiKey": daemon.key} and "apiKey" not in out["prefs"]
    out = lua(daemon, tmp_path, {"script": "AnalyzeSelected.lua", "photos": [photo], "passwords": {"apiKey": ""}})
    assert "No API key" in out["dialogs"][-1]["message"] and out["http"] == []


def test_an_export_carries_no_judgement_keywords(daemon, tmp_path):
    paths = sorted(str(p) for p in daemon.photos.glob("*.jpg"))
    judgement = {"Keepers", "flaw", "group", "burst", "pick", "alternate"}
    # a keyword an earlier version made, included on export, and a photographer's own
    photos = [{"path": p, "keywords": ["Keepers|flaw|motion blur", "places|Norway"]} for p in paths]
    out = lua(daemon, tmp_path, {"script": "CullBursts.lua", "photos": photos})
    assert out["errors"] == []
    records = by_path(job_records(daemon, paths))
    flaws = {k.split("|")[-1] for r in records.values() for k in r["keywords"] if k.startswith("flaw|")}
    assert flaws and any("group|burst" in r["keywords"] for r in records.values())
    for ph in out["photos"]:
        assert set(ph["exported"]) == {"places", "Norway"}, ph  # content keywords stay private by default
    assert not [k for k, exp in out["keywords"].items() if k.startswith("Keepers") and exp]
    out = lua(daemon, tmp_path, {"script": "CullBursts.lua", "photos": photos,
                                 "prefs": {"exportContentKeywords": True}})
    content = set()
    for ph in out["photos"]:
        exported = set(ph["exported"])
        assert not exported & (judgement | flaws), ph
        content |= exported - {"places", "Norway"}
    assert content, "content keywords (animal, cat...) go out when the setting is on"


def test_new_photos_imported_while_lightroom_runs_are_analysed_in_the_background(daemon, tmp_path):
    old = str(daemon.photos / "rocket.jpg")
    burst = sorted(str(p) for p in daemon.photos.glob("burst_*.jpg"))
    out = lua(daemon, tmp_path, {
        "init": True, "scripts": [], "photos": [{"path": old, "selected": False}],
        "prefs": {"autoAnalyze": True, "autoAnalyzeSeconds": 2},
        "events": [{"at": 3, "import": [{"path": p, "selected": False} for p in burst]},
                   {"at": 30, "shutdown": True}]})
    assert out["errors"] == [] and out["dialogs"] == [] and out["shut_down"]
    assert out["by_path"][old][0]["properties"] == {}  # in the catalog before: not new
    records = by_path(job_records(daemon, burst))
    rated_as_answered(out, records, burst)
    assert sum(out["by_path"][p][0]["pickStatus"] == 1 for p in burst) == 1  # one job: the burst is grouped
    assert jobs_sent(out) == [len(burst)]


def test_send_my_ratings_sends_the_photographers_own_and_leaves_keepers_out(daemon, tmp_path):
    mine, keepers_own = str(daemon.photos / "astronaut.jpg"), str(daemon.photos / "motorcycle.jpg")
    photos = [{"path": mine, "rating": 4, "pickStatus": -1, "label": "blue", "keywords": ["places|Norway"]},
              {"path": keepers_own, "rating": 3, "pickStatus": 1, "label": "green",
               "keywords": ["Keepers|animal|cat"],
               "properties": {"ratingSet": "3", "pickSet": "1", "labelSet": "green"}}]
    api(daemon, "POST", "/v1/signals", {"photos": [{"path": keepers_own, "rating": 1}]})  # sent once before
    out = lua(daemon, tmp_path, {"script": "SendRatings.lua", "photos": photos})
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", out["dialogs"]
    assert out["dialogs"][-1]["message"].startswith("2 photo(s) sent: 0 pick(s), 1 reject(s), 1 star rating(s)")
    got = {(s["kind"], s["value"]) for s in api(daemon, "GET", f"/v1/signals?path={mine}")[1]["signals"]}
    assert got == {("reject", "1"), ("rating", "4"), ("label", "blue"), ("keyword", "places|Norway")}
    assert api(daemon, "GET", f"/v1/signals?path={keepers_own}")[1]["signals"] == []  # replaced by nothing


def test_a_refused_key_or_an_absent_daemon_is_said_in_a_dialog_and_nothing_is_written(daemon, tmp_path):
    photo = {"path": str(daemon.photos / "coffee.jpg"), "rating": 3}
    out = lua(daemon, tmp_path, {"script": "AnalyzeSelected.lua", "photos": [photo],
                                 "passwords": {"apiKey": "kp_not-a-key"}})
    assert out["dialogs"][-1]["style"] == "critical" and "refused" in out["dialogs"][-1]["message"]
    assert out["gates"] == [] and out["by_path"][photo["path"]][0].get("rating") == 3
    out = plugin(daemon, tmp_path, "CullBursts.lua", [photo], url="http://127.0.0.1:9")
    assert out["gates"] == [] and "does not answer" in out["dialogs"][-1]["message"]


# --- the harness itself: the SDK rules it enforces ---------------------------------------------------------------


@needs_lua
def test_the_harness_refuses_a_keyword_parent_made_in_the_same_write_gate(tmp_path):
    code = """
      local again, err
      catalog:withWriteAccessDo("one gate", function()
        local parent = catalog:createKeyword("Keepers", {}, false, nil, true)
        again = catalog:createKeyword("Keepers", {}, false, nil, true)  -- made in this gate: false
        local ok, e = pcall(catalog.createKeyword, catalog, "flaw", {}, false, parent, true)
        err = e
      end)
      return { again = again, err = err }
    """
    (tmp_path / "s.json").write_text(json.dumps({"code": code, "photos": []}))
    subprocess.run([LUA, str(RUN), str(PLUGIN), str(tmp_path / "s.json"), str(tmp_path / "o.json")], check=True)
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["result"]["again"] is False
    assert "created in this write gate" in out["result"]["err"]


@needs_lua
def test_the_harness_refuses_a_sleep_inside_a_write_gate_and_a_plain_pcall_around_a_sleep(tmp_path):
    code = """
      local LrTasks = import "LrTasks"
      local gate = pcall(catalog.withWriteAccessDo, catalog, "gate", function() LrTasks.sleep(1) end)
      local plain = pcall(function() LrTasks.sleep(1) end)
      local task = LrTasks.pcall(function() LrTasks.sleep(1) return true end)
      return { gate = gate, plain = plain, task = task }
    """
    (tmp_path / "s.json").write_text(json.dumps({"code": code, "photos": []}))
    subprocess.run([LUA, str(RUN), str(PLUGIN), str(tmp_path / "s.json"), str(tmp_path / "o.json")], check=True)
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["result"] == {"gate": False, "plain": False, "task": True}


@needs_lua
def test_the_settings_dialog_builds_with_the_defaults_and_keeps_the_key_in_lrpasswords(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"scripts": [], "settings_dialog": True, "photos": [],
                                                 "passwords": {"apiKey": "kp_mine"}}))
    subprocess.run([LUA, str(RUN), str(PLUGIN), str(tmp_path / "s.json"), str(tmp_path / "o.json")], check=True)
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["errors"] == [] and out["dialogs"] == [{"title": "Keepers settings", "message": "modal",
                                                       "style": "modal", "contents": True}]
    assert out["passwords"] == {"apiKey": "kp_mine"} and "apiKey" not in out["prefs"]


def test_the_choices_made_in_the_review_page_are_applied_to_lightroom_and_stay_the_photographers(daemon, tmp_path):
    """Lightroom reads no sidecar for a JPEG: the review page keeps such a choice in Keepers' catalog. "Apply my
    choices from the review page" puts the stars, flag and label given there into Lightroom, as the
    photographer's (a later Analyze does not change them); what was not chosen there stays as it was."""
    import http.client
    from urllib.parse import urlsplit

    shoot = daemon.photos / "review"  # inside the application's root; the job writes its sidecars here only
    shoot.mkdir()
    for name in ("astronaut.jpg", "coffee.jpg"):
        shutil.copy(daemon.photos / name, shoot / name)
    a, b = str(shoot / "astronaut.jpg"), str(shoot / "coffee.jpg")
    status, job = api(daemon, "POST", "/v1/jobs", {"paths": [str(shoot)], "write": True})
    while job["state"] in ("queued", "running"):
        time.sleep(0.2)
        job = api(daemon, "GET", f"/v1/jobs/{job['id']}")[1]
    status, opened = api(daemon, "POST", "/v1/review", {"paths": [str(shoot)]})
    assert status == 200, opened
    u = urlsplit(opened["url"])
    token = u.query.removeprefix("token=")

    def page(method, path, body=None):
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        headers = {"Cookie": f"keepers_review={token}", "X-Keepers-CSRF": token, "Content-Type": "application/json",
                   "Origin": f"http://{u.netloc}"}
        conn.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
        r = conn.getresponse()
        data = json.loads(r.read())
        conn.close()
        assert r.status == 200, data
        return data

    ids = {p["path"]: p["id"] for p in page("GET", "/review/api/photos")["photos"]}
    page("POST", f"/review/api/photos/{ids[a]}", {"rating": 2, "label": "purple"})
    page("POST", f"/review/api/photos/{ids[b]}", {"flag": "reject"})
    status, got = api(daemon, "POST", "/v1/review/choices", {"paths": [a, b, str(daemon.photos / "rocket.jpg")]})
    assert status == 200 and {c["path"]: (c["rating"], c["flag"], c["label"]) for c in got["choices"]} == \
        {a: (2, None, "purple"), b: (None, "reject", None)}  # coffee's stars were only shown: not given
    keepers_set = {"ratingSet": "4", "pickSet": "1", "labelSet": "green"}  # what Analyze wrote before
    photos = [{"path": a, "rating": 4, "pickStatus": 1, "label": "green", "properties": dict(keepers_set)},
              {"path": b, "rating": 3, "pickStatus": 1, "label": "green", "properties": dict(keepers_set)}]
    out = lua(daemon, tmp_path, {"script": "ApplyChoices.lua", "photos": photos})
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", out["dialogs"]
    assert out["dialogs"][-1]["message"].startswith("2 photo(s): 1 rated, 1 flagged, 1 labelled")
    pa, pb = out["by_path"][a][0], out["by_path"][b][0]
    assert (pa["rating"], pa["pickStatus"], pa["label"]) == (2, 1, "purple")  # no flag given there: Keepers' stays
    assert pa["properties"] == {"pickSet": "1"}  # the stars and label are the photographer's now
    assert (pb["rating"], pb["pickStatus"], pb["label"]) == (3, -1, "green")
    assert pb["properties"] == {"ratingSet": "4", "labelSet": "green"}
