"""Taste profiles through the daemon (issue 23 items 1 and 3), over real HTTP on 127.0.0.1 (waitress in a thread,
real keys): an application's own profiles made from a CSV, a list or the signals it sent, trained in the
background (the request answers at once), shown with their held-out agreement and words, judging its predictions
and jobs, retrained when signals arrive, exported, imported and reset; hostile requests refused. Real photos
(`keepers demo`'s), the shipped models."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from types import SimpleNamespace

import pytest

from keepers.core.settings import Settings
from keepers.sidecar import auth
from keepers.sidecar.app import Daemon
from keepers.sidecar.client import Client
from keepers.sidecar.config import DaemonSettings
from keepers.sidecar.server import Server

# the photographer's order of eight photos, best first: every pair of it is a choice (28, a consistent taste)
ORDER = ["rocket", "motorcycle", "coffee", "astronaut", "chelsea", "burst_1", "coffee_dark", "astronaut_bright"]


@pytest.fixture(scope="module")
def ns(tmp_path_factory):
    from keepers.core.lab import demo

    tmp = tmp_path_factory.mktemp("taste_api")
    lib, other_lib = tmp / "shoot", tmp / "elsewhere"
    demo.build(lib)
    other_lib.mkdir()
    settings = Settings(catalog=tmp / "catalog.db", workers=1)
    daemon = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    _, _, mine = auth.create_app(daemon.store, "lightroom", [str(lib)])
    _, _, theirs = auth.create_app(daemon.store, "other", [str(other_lib), str(lib)])
    server = Server(daemon, port=0).start()
    yield SimpleNamespace(tmp=tmp, lib=lib, daemon=daemon, c=Client(server.url, mine),
                          them=Client(server.url, theirs), url=server.url)
    server.stop()
    daemon.close()


def csv_of(pairs) -> str:
    return "preferred,other\n" + "".join(f"{a}.jpg,{b}.jpg\n" for a, b in pairs)


def all_pairs(order):
    return [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]


def wait_trained(c: Client, name: str, until=lambda p: True, timeout: float = 300) -> dict:
    end = time.monotonic() + timeout
    while True:
        p = c.get(f"/v1/taste/profiles/{name}").json()
        if p["state"] in ("trained", "untrained", "failed") and until(p):
            return p
        assert time.monotonic() < end, p
        time.sleep(0.3)


def choices_of(c: Client, name: str) -> set:
    f = c.get(f"/v1/taste/profiles/{name}/file").json()
    return {(os.path.basename(s["preferred"])[:-4], os.path.basename(s["other"])[:-4]) for s in f["signals"]}


def taste_reasons(results) -> list:
    return [r for res in results for r in res["reasons"] if r["code"] == "taste"]


def test_a_csv_of_choices_makes_a_profile_that_trains_in_the_background_and_then_judges_predictions_and_jobs(ns):
    c, trainer = ns.c, ns.daemon.trainer
    gate, analyse = threading.Event(), trainer._analyse
    trainer._analyse = lambda *a: gate.wait(60) and analyse(*a)  # the retrain waits until the request answered
    try:
        r = c.post("/v1/taste/profiles/mine/choices", {"csv": csv_of(all_pairs(ORDER)), "base": str(ns.lib)})
    finally:
        gate.set()
        trainer._analyse = analyse
    assert r.status == 202, r
    # answered before any training: the photos are analysed and the model fitted by the daemon's trainer
    assert r.json()["state"] in ("queued", "retraining") and r.json()["trained_on"] == 0, r.json()
    p = wait_trained(c, "mine")
    assert p["state"] == "trained" and p["trained_at"] and p["error"] is None, p
    assert p["signals"] == p["trained_on"] == 28 and p["sources"] == {"csv": 28}, p
    assert p["cv_agreement"] is not None and p["cv_agreement"] > 0.6 and p["weight"] > 0, p
    assert isinstance(p["prefers"], list)
    assert [x["name"] for x in c.get("/v1/taste/profiles").json()["profiles"]] == ["mine"]

    paths = [str(ns.lib / f"{n}.jpg") for n in (ORDER[0], ORDER[-2])]
    plain = c.post("/v1/predict", {"paths": paths}).json()["results"]
    tasted = c.post("/v1/predict", {"paths": paths, "taste": "mine"}).json()["results"]
    assert not taste_reasons(plain)
    moved = taste_reasons(tasted)
    assert moved and all("your taste (mine)" in m["message"] for m in moved), tasted
    assert [x["score"] for x in plain] != [x["score"] for x in tasted]
    # the loved photo goes up, the passed-over one down (never across its band)
    assert tasted[0]["score"] >= plain[0]["score"] and tasted[1]["score"] <= plain[1]["score"], (plain, tasted)

    uploaded = c.upload("/v1/predict", [("a.jpg", (ns.lib / f"{ORDER[0]}.jpg").read_bytes())], {"taste": "mine"})
    assert uploaded.json()["results"][0]["score"] == tasted[0]["score"] and taste_reasons(uploaded.json()["results"])
    is_error(ns.them.upload("/v1/predict", [("a.jpg", b"")], {"taste": "mine"}), 403, "forbidden")

    job = c.post("/v1/jobs", {"paths": paths, "taste": "mine"}).json()
    assert job["taste"] == "mine"
    end = time.monotonic() + 120
    while c.get(f"/v1/jobs/{job['id']}").json()["state"] != "done":
        assert time.monotonic() < end
        time.sleep(0.3)
    results = c.get(f"/v1/jobs/{job['id']}/results").json()["results"]
    assert {x["path"]: x["score"] for x in results} == {x["path"]: x["score"] for x in tasted}


def test_signals_sent_for_a_profile_that_follows_them_retrain_it_off_the_request_and_the_newest_win(ns):
    c = ns.c
    made = c.post("/v1/taste/profiles/lr/choices", {"signals": True, "follow_signals": True})
    assert made.status == 202 and made.json()["follow_signals"], made
    assert wait_trained(c, "lr")["signals"] == 0  # nothing sent yet

    def send(stars):
        r = c.post("/v1/signals", {"photos": [{"path": str(ns.lib / f"{n}.jpg"), "rating": s}
                                              for n, s in stars.items()]})
        assert r.status == 200 and r.json()["retraining"] == ["lr"], r
        return r

    with ns.daemon.trainer.lock("lr"):  # a retrain holding the profile does not hold up the request
        t = time.monotonic()
        send({"rocket": 5, "coffee": 3, "chelsea": 1})
        assert time.monotonic() - t < 10
        assert c.get("/v1/taste/profiles/lr").json()["state"] in ("queued", "retraining")
    first = {("rocket", "coffee"), ("rocket", "chelsea"), ("coffee", "chelsea")}
    p = wait_trained(c, "lr", lambda p: p["signals"] == 3)
    assert choices_of(c, "lr") == first and p["trained_on"] == 3 and p["sources"] == {"signals": 3}, p
    # the photographer changes their mind twice in a row: the profile ends on the last, trained on it
    send({"rocket": 1, "coffee": 3, "chelsea": 5})
    send({"rocket": 2, "coffee": 4, "chelsea": 5, "astronaut": 1})
    last = {("chelsea", "coffee"), ("chelsea", "rocket"), ("chelsea", "astronaut"), ("coffee", "rocket"),
            ("coffee", "astronaut"), ("rocket", "astronaut")}
    p = wait_trained(c, "lr", lambda p: p["signals"] == 6)
    assert choices_of(c, "lr") == last and p["trained_on"] == 6, p

    # stop following: signals are stored, the profile is left as it is
    assert c.patch("/v1/taste/profiles/lr", {"follow_signals": False}).json()["follow_signals"] is False
    r = c.post("/v1/signals", {"photos": [{"path": str(ns.lib / "rocket.jpg"), "rating": 5}]})
    assert r.json()["retraining"] == [] and choices_of(c, "lr") == last


def test_choices_added_while_the_profile_trains_are_kept_and_trained_on_not_overwritten_by_the_older_model(ns):
    c, trainer = ns.c, ns.daemon.trainer
    first, later = all_pairs(ORDER[:5]), all_pairs(ORDER[5:])
    analyse = trainer._analyse
    added = []

    def meanwhile(paths, settings, catalog):  # the photographer adds choices while the first retrain analyses
        if not added:
            added.append(Client(ns.url, c.key).post("/v1/taste/profiles/busy/choices",
                                                    {"csv": csv_of(later), "base": str(ns.lib)}))
        return analyse(paths, settings, catalog)

    trainer._analyse = meanwhile
    try:
        assert c.post("/v1/taste/profiles/busy/choices", {"csv": csv_of(first), "base": str(ns.lib)}).status == 202
        p = wait_trained(c, "busy", lambda p: p["trained_on"] == len(first) + len(later), timeout=120)
    finally:
        trainer._analyse = analyse
    assert added and added[0].status == 202, added
    assert choices_of(c, "busy") == set(first) | set(later) and p["signals"] == p["trained_on"] == 13, p


def test_a_retrain_interrupted_by_a_restart_runs_when_the_daemon_starts_again(ns, tmp_path):
    settings = Settings(catalog=tmp_path / "catalog.db", workers=1)
    before = Daemon(settings, DaemonSettings(port=0, warm_up=False), start_workers=False)  # no trainer running
    server = Server(before, port=0).start()
    try:
        _, _, key = auth.create_app(before.store, "lr", [str(ns.lib)])
        r = Client(server.url, key).post("/v1/taste/profiles/p/choices", {"csv": csv_of(all_pairs(ORDER[:4])),
                                                                          "base": str(ns.lib)})
        assert r.status == 202 and r.json()["state"] == "queued", r
    finally:
        server.stop()
        before.close()
        before.store.close()
    after = Daemon(settings, DaemonSettings(port=0, warm_up=False))
    server = Server(after, port=0).start()
    try:
        p = wait_trained(Client(server.url, key), "p", timeout=120)
        assert p["state"] == "trained" and p["trained_on"] == 6, p
    finally:
        server.stop()
        after.close()


def test_a_profile_goes_out_as_a_file_comes_back_under_another_name_and_is_forgotten_on_reset(ns):
    c = ns.c
    if c.get("/v1/taste/profiles/mine").status == 404:
        c.post("/v1/taste/profiles/mine/choices", {"csv": csv_of(all_pairs(ORDER)), "base": str(ns.lib)})
    was = wait_trained(c, "mine")
    f = c.get("/v1/taste/profiles/mine/file").json()
    assert f["format"] == "keepers-taste/1" and len(f["signals"]) == 28 and f["model"]
    r = c.put("/v1/taste/profiles/copy/file", f)
    assert r.status == 200, r
    got = r.json()
    assert got["state"] == "trained" and got["cv_agreement"] == was["cv_agreement"], got
    assert (ns.tmp / "taste" / "copy.json").is_file()  # the same profiles as `keepers taste` reads
    plain = c.post("/v1/predict", {"paths": [str(ns.lib / "rocket.jpg")], "taste": "mine"}).json()["results"]
    copied = c.post("/v1/predict", {"paths": [str(ns.lib / "rocket.jpg")], "taste": "copy"}).json()["results"]
    assert plain[0]["score"] == copied[0]["score"]

    assert c.delete("/v1/taste/profiles/copy").json() == {"deleted": "copy"}
    assert c.get("/v1/taste/profiles/copy").status == 404
    assert not (ns.tmp / "taste" / "copy.json").exists()
    assert "copy" not in [x["name"] for x in c.get("/v1/taste/profiles").json()["profiles"]]
    assert c.post("/v1/predict", {"paths": [str(ns.lib / "rocket.jpg")], "taste": "copy"}).status == 404


def is_error(r, status: int, code: str | None = None, says: str = "") -> None:
    assert r.status == status, r
    body = r.json()["error"]
    assert (code is None or body["code"] == code) and says in body["message"], body


def test_hostile_requests_are_refused_and_change_nothing(ns):
    c, them = ns.c, ns.them
    if c.get("/v1/taste/profiles/mine").status == 404:
        c.post("/v1/taste/profiles/mine/choices", {"csv": csv_of(all_pairs(ORDER)), "base": str(ns.lib)})
    rocket = str(ns.lib / "rocket.jpg")
    # unknown profile: 404 everywhere
    for r in (c.get("/v1/taste/profiles/nobody"), c.get("/v1/taste/profiles/nobody/file"),
              c.delete("/v1/taste/profiles/nobody"), c.patch("/v1/taste/profiles/nobody", {"follow_signals": True}),
              c.post("/v1/predict", {"paths": [rocket], "taste": "nobody"}),
              c.post("/v1/jobs", {"paths": [rocket], "taste": "nobody"})):
        is_error(r, 404, "not_found", "nobody")
    # a name with path parts: 400, nothing read or written
    for name in ("..", ".hidden", "a%5Cb", "a:b"):
        is_error(c.get(f"/v1/taste/profiles/{name}"), 400, "bad_request", "bad profile name")
        is_error(c.post(f"/v1/taste/profiles/{name}/choices", {"choices": [{"preferred": rocket, "other": rocket}]}),
                 400, "bad_request")
    is_error(c.post("/v1/predict", {"paths": [rocket], "taste": "../mine"}), 400, "bad_request")
    # another application's profile: 403, whatever the route
    for r in (them.get("/v1/taste/profiles/mine"), them.get("/v1/taste/profiles/mine/file"),
              them.delete("/v1/taste/profiles/mine"), them.patch("/v1/taste/profiles/mine", {"follow_signals": True}),
              them.post("/v1/taste/profiles/mine/choices", {"choices": [{"preferred": rocket, "other": rocket}]}),
              them.put("/v1/taste/profiles/mine/file", c.get("/v1/taste/profiles/mine/file").json()),
              them.post("/v1/predict", {"paths": [rocket], "taste": "mine"}),
              them.post("/v1/jobs", {"paths": [rocket], "taste": "mine"})):
        is_error(r, 403, "forbidden", "another application")
    assert "mine" not in [x["name"] for x in them.get("/v1/taste/profiles").json()["profiles"]]
    # a profile made on the command line is no application's
    (ns.tmp / "taste" / "cli.json").write_text((ns.tmp / "taste" / "mine.json").read_text())
    is_error(c.get("/v1/taste/profiles/cli"), 403, "forbidden", "command line")
    # a huge CSV: refused with what the limit is, before anything is stored
    huge = "preferred,other\n" + f"{rocket},{rocket}\n" * 20_001
    is_error(c.post("/v1/taste/profiles/big/choices", {"csv": huge}), 413, "payload_too_large", "20,000 choices")
    is_error(c.post("/v1/taste/profiles/big/choices", {"csv": "preferred,other\n" + "a" * 5_000_000 + ",b\n"}),
             413, "payload_too_large", "send it in parts")
    # photos outside the application's roots, or relative without a base: 403 for the whole request
    outside = str(ns.tmp / "catalog.db")
    is_error(c.post("/v1/taste/profiles/big/choices", {"csv": f"preferred,other\n{rocket},{outside}\n"}), 403,
             "path_refused")
    is_error(c.post("/v1/taste/profiles/big/choices", {"csv": "preferred,other\nrocket.jpg,coffee.jpg\n"}), 403,
             "path_refused", "absolute")
    is_error(c.post("/v1/taste/profiles/big/choices", {"csv": "name,score\nx,1\n"}), 400, "bad_request",
             "preferred,other")
    f = c.get("/v1/taste/profiles/mine/file").json()
    bad_paths = {**f, "signals": f["signals"] + [{"preferred": outside, "other": rocket, "source": "csv"}]}
    is_error(c.put("/v1/taste/profiles/big/file", bad_paths), 403, "path_refused")
    broken = {**f, "model": {**f["model"], "arrays": {**f["model"]["arrays"], "mean": [0.0, 1.0]}}}
    is_error(c.put("/v1/taste/profiles/big/file", broken), 400, "bad_request", "taste profile")
    assert c.get("/v1/taste/profiles/big").status == 404 and not (ns.tmp / "taste" / "big.json").exists()
    assert c.get("/v1/taste/profiles/mine").status == 200 and them.get("/health").json()["status"] == "ok"


def test_a_daemon_store_from_before_taste_profiles_opens_and_its_jobs_carry_no_profile(tmp_path):
    from keepers.sidecar.store import Store

    db = tmp_path / "daemon.db"
    con = sqlite3.connect(db)  # the jobs table as it was made before a job could name a taste profile
    con.execute("CREATE TABLE jobs (id TEXT PRIMARY KEY, app_id INTEGER NOT NULL, key_id INTEGER, paths TEXT NOT "
                "NULL, write INTEGER NOT NULL, state TEXT NOT NULL, total INTEGER NOT NULL DEFAULT 0, done INTEGER "
                "NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0, error TEXT, results TEXT, created_at TEXT "
                "NOT NULL, finished_at TEXT)")
    con.execute("INSERT INTO jobs (id, app_id, paths, write, state, created_at) VALUES ('0123456789abcdef', 1, "
                "'[]', 0, 'done', 'then')")
    con.commit()
    con.close()
    store = Store(db)
    try:
        assert store.one("SELECT taste FROM jobs")["taste"] is None
        assert store.all("SELECT * FROM taste_profiles") == []
    finally:
        store.close()
