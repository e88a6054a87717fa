"""The Lightroom Classic plug-in (plugins/lightroom/keepers.lrplugin), run by Lua 5.1 under an SDK stand-in
(tests/lua/sdk.lua) whose LrHttp talks to a real `keepers serve` on 127.0.0.1; what the plug-in wrote into the
stand-in catalog is compared with what the daemon answers to the same questions."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from types import SimpleNamespace

import pytest

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


def plugin(d, tmp: Path, script: str, photos: list[dict], **prefs) -> dict:
    """Run one menu item's file under the SDK stand-in; returns the catalog afterwards and what happened."""
    scenario = {"script": script, "photos": photos, "prefs": {"url": d.url, "apiKey": d.key, **prefs}}
    (tmp / "scenario.json").write_text(json.dumps(scenario))
    p = subprocess.run([LUA, str(RUN), str(PLUGIN), str(tmp / "scenario.json"), str(tmp / "out.json")],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr
    out = json.loads((tmp / "out.json").read_text())
    out["by_path"] = {}
    for ph in out["photos"]:
        out["by_path"].setdefault(ph["path"], []).append(ph)
    return out


def expect(photo: dict, v: dict, initial: dict | None = None) -> None:
    """What the plug-in must have written for verdict `v` on a photo that had nothing of the photographer's."""
    r = role(SimpleNamespace(stars=v["stars"], keywords=v["keywords"], pick=v["pick"], group=v["group"],
                             verdict=v["verdict"]))
    assert photo.get("rating") == (max(0, v["stars"]) or None), photo["path"]
    assert photo["pickStatus"] == PICK[r], photo["path"]
    assert photo["label"] == LABEL.get(r, "none"), photo["path"]
    assert [k for k in photo["keywords"] if k.startswith("Keepers|")] == sorted(f"Keepers|{k}" for k in v["keywords"])
    assert photo["properties"]["score"] == f"{v['score']:.1f}" and photo["properties"]["verdict"] == v["verdict"]


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


def test_analyze_selected_writes_the_daemons_verdicts_through_the_sdk(daemon, tmp_path):
    paths = sorted(str(p) for p in daemon.photos.glob("*.jpg"))
    out = plugin(daemon, tmp_path, "AnalyzeSelected.lua", [{"path": p} for p in paths])
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", out["dialogs"]
    assert out["gates"] == ["Keepers: create keywords", "Keepers: apply verdicts"]
    assert {(h["method"], h["url"].split("/v1/")[1], h["status"]) for h in out["http"]} == {("POST", "predict", 200)}
    status, answer = api(daemon, "POST", "/v1/predict", {"paths": paths})
    assert status == 200
    verdicts = {r["input"]: r for r in answer["results"]}
    roles = set()
    for path in paths:
        expect(out["by_path"][path][0], verdicts[path])
        roles.add(role(SimpleNamespace(**{k: verdicts[path][k] for k in ("stars", "keywords", "pick", "group",
                                                                          "verdict")})))
    assert {"reject", "keeper"} <= roles  # the demo's blurred/dark variants are rejects, its originals keepers


def test_the_photographers_rating_flag_label_and_keywords_stay_theirs(daemon, tmp_path):
    p = str(daemon.photos / "coffee_shaken.jpg")
    mine = {"path": p, "rating": 4, "pickStatus": 1, "label": "blue", "keywords": ["places|Norway", "Keepers|stale"]}
    earlier = {"path": str(daemon.photos / "coffee_dark.jpg"), "rating": 2, "pickStatus": 1, "label": "green",
               "properties": {"ratingSet": "2", "pickSet": "1", "labelSet": "green"}}  # all three set by Keepers
    out = plugin(daemon, tmp_path, "AnalyzeSelected.lua", [mine, earlier])
    v = {r["input"]: r for r in api(daemon, "POST", "/v1/predict", {"paths": [p, earlier["path"]]})[1]
         ["results"]}
    got = out["by_path"][p][0]
    assert (got.get("rating"), got["pickStatus"], got["label"]) == (4, 1, "blue")
    assert "places|Norway" in got["keywords"] and "Keepers|stale" not in got["keywords"]
    assert {f"Keepers|{k}" for k in v[p]["keywords"]} <= set(got["keywords"])
    expect(out["by_path"][earlier["path"]][0], v[earlier["path"]])  # Keepers' own values are Keepers' to update


def test_cull_bursts_puts_picks_and_alternates_into_collections_under_keepers(daemon, tmp_path):
    paths = sorted(str(p) for p in daemon.photos.glob("burst_*.jpg")) + [str(daemon.photos / "rocket.jpg")]
    out = plugin(daemon, tmp_path, "CullBursts.lua", [{"path": p} for p in paths])
    assert out["errors"] == [] and out["dialogs"][-1]["style"] == "info", out["dialogs"]
    records = {r["path"]: r for r in job_records(daemon, paths)}
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


def test_a_refused_key_or_an_absent_daemon_is_said_in_a_dialog_and_nothing_is_written(daemon, tmp_path):
    photo = {"path": str(daemon.photos / "coffee.jpg"), "rating": 3}
    out = plugin(daemon, tmp_path, "AnalyzeSelected.lua", [photo], apiKey="kp_not-a-key")
    assert out["dialogs"][-1]["style"] == "critical" and "refused" in out["dialogs"][-1]["message"]
    assert out["gates"] == [] and out["by_path"][photo["path"]][0].get("rating") == 3
    out = plugin(daemon, tmp_path, "CullBursts.lua", [photo], url="http://127.0.0.1:9")
    assert out["gates"] == [] and "does not answer" in out["dialogs"][-1]["message"]


@needs_lua
def test_the_settings_dialog_builds_with_the_defaults(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"scripts": [], "settings_dialog": True, "photos": []}))
    subprocess.run([LUA, str(RUN), str(PLUGIN), str(tmp_path / "s.json"), str(tmp_path / "o.json")], check=True)
    out = json.loads((tmp_path / "o.json").read_text())
    assert out["errors"] == [] and out["dialogs"] == [{"title": "Keepers settings", "message": "modal",
                                                       "style": "modal", "contents": True}]
