"""Taste signals from Keepers' own records of the photographer's choices: the review page's (stars, rejects, a
burst's pick) and what Lightroom sent the daemon (POST /v1/signals); and a `taste` setting naming a deleted profile,
said once. Real photos (`keepers demo`'s, a burst included), the real command, catalog, page and daemon."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import subprocess
from urllib.parse import urlsplit

import pytest

from helpers import KEEPERS, isolated_env, keepers
from keepers.core.settings import Settings


@pytest.fixture(scope="module")
def culled(tmp_path_factory):
    """`keepers demo`'s photos culled once into a catalog: (tmp, folder, settings, results)."""
    from keepers.core.commands.cull import run_cull
    from keepers.core.lab import demo

    tmp = tmp_path_factory.mktemp("signals")
    folder = tmp / "photos"
    demo.build(folder)
    settings = Settings(catalog=tmp / "catalog.db", workers=1)
    results, _ = run_cull([str(folder)], settings, quiet=True)
    return tmp, folder, settings, results


def profile(tmp, name):
    return json.loads((tmp / "taste" / f"{name}.json").read_text())


def pairs_of(p):
    return {(os.path.basename(s["preferred"]), os.path.basename(s["other"])) for s in p["signals"]
            if s["source"] == "review"}


def test_the_review_pages_stars_rejects_and_burst_picks_become_choices_and_keepers_own_stars_never_do(culled):
    from keepers.sidecar.review.state import Review

    tmp, folder, settings, results = culled
    review = Review(settings, results, [str(folder)])
    try:
        items = {os.path.basename(it.photo.path): it for it in review.items.values()}
        burst = [n for n, it in items.items() if it.info["group"]]
        assert len(burst) >= 2, {n: it.info["group"] for n, it in items.items()}
        chosen = next(n for n in burst if not items[n].info["pick"])  # not the frame Keepers picked
        frames = {n for n in burst if items[n].info["group"] == items[chosen].info["group"]} - {chosen}
        review.change(items[chosen].id, flag="pick")
        loved, liked, rejected = "rocket.jpg", "coffee.jpg", "chelsea.jpg"
        review.change(items[loved].id, rating=5 if items[loved].rating != 5 else 4)
        review.change(items[liked].id, rating=2 if items[liked].rating != 2 else 1)
        review.change(items[rejected].id, flag="reject")
        # a flag alone on a photo outside a burst: the page records the stars it showed, Keepers' own; never learned
        flag_only = next(n for n in items if n not in burst and n not in (loved, liked, rejected))
        review.change(items[flag_only].id, flag="pick")
    finally:
        review.close()

    proc = keepers("taste", "import", "mine", "--review", folder, "--catalog", settings.catalog, tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    got = pairs_of(profile(tmp, "mine"))
    # the burst's pick chosen in the page over each other frame of its burst
    assert {(chosen, f) for f in frames} <= got, got
    # stars within the shoot: the higher over the lower, the reject below both
    assert {(loved, liked), (loved, rejected), (liked, rejected)} <= got, got
    assert all(flag_only not in pair for pair in got), got
    assert len(got) == len(frames) + 3, got


def test_a_review_page_with_a_taste_set_teaches_it_when_it_closes_and_a_changed_mind_counts_as_it_is_now(culled):
    tmp, folder, settings, _ = culled
    assert keepers("taste", "import", "mine", "--review", folder, "--catalog", settings.catalog,
                   tmp=tmp).returncode == 0
    before = pairs_of(profile(tmp, "mine"))
    assert ("rocket.jpg", "coffee.jpg") in before
    env = {**isolated_env(tmp), "KEEPERS_TASTE": "mine"}
    proc = subprocess.Popen([KEEPERS, "review", str(folder), "--no-browser", "--catalog", str(settings.catalog)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = urlsplit(proc.stdout.readline().strip())
        assert url.port, proc.stderr.read()
        token = url.query.removeprefix("token=")
        here = f"127.0.0.1:{url.port}"
        headers = {"Host": here, "Cookie": f"keepers_review={token}", "Content-Type": "application/json",
                   "X-Keepers-CSRF": token, "Origin": f"http://{here}"}

        def ask(method, path, body=None):
            conn = http.client.HTTPConnection("127.0.0.1", url.port, timeout=60)
            conn.request(method, path, body=json.dumps(body) if body else None, headers=headers)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            assert r.status == 200, data
            return json.loads(data)

        ids = {p["name"]: p["id"] for p in ask("GET", "/review/api/photos")["photos"]}
        ask("POST", f"/review/api/photos/{ids['coffee.jpg']}", {"rating": 5})  # changed their mind
        ask("POST", f"/review/api/photos/{ids['rocket.jpg']}", {"rating": 1})
        assert pairs_of(profile(tmp, "mine")) == before  # learned off the page's requests: when it closes
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    after = pairs_of(profile(tmp, "mine"))
    assert ("coffee.jpg", "rocket.jpg") in after and ("rocket.jpg", "coffee.jpg") not in after, after
    assert "profile mine:" in err and "taken back" in err, err


def test_the_picks_rejects_and_stars_lightroom_sent_the_daemon_become_choices_of_that_application_only(culled):
    from keepers.sidecar import auth
    from keepers.sidecar.app import Daemon
    from keepers.sidecar.client import Client
    from keepers.sidecar.config import DaemonSettings
    from keepers.sidecar.server import Server

    tmp, folder, settings, _ = culled
    cat = tmp / "lr" / "catalog.db"
    daemon = Daemon(Settings(catalog=cat, workers=1), DaemonSettings(port=0, warm_up=False), start_workers=False)
    server = Server(daemon, port=0).start()
    try:
        _, _, lightroom = auth.create_app(daemon.store, "lightroom", [str(folder)])
        _, _, other = auth.create_app(daemon.store, "other", [str(folder)])
        sent = [{"path": str(folder / "motorcycle.jpg"), "pick": 1, "rating": 4},
                {"path": str(folder / "astronaut.jpg"), "rating": 2, "label": "red"},
                {"path": str(folder / "chelsea.jpg"), "pick": -1}]
        assert Client(server.url, lightroom).post("/v1/signals", {"photos": sent}).status == 200
        assert Client(server.url, other).post("/v1/signals", {"photos": [
            {"path": str(folder / "coffee.jpg"), "rating": 5}]}).status == 200
    finally:
        server.stop()
        daemon.close()
        daemon.store.close()
    store = cat.with_name("daemon.db")
    was = store.read_bytes()
    proc = keepers("taste", "import", "lr", "--signals", "--app", "lightroom", "--catalog", cat, tmp=tmp)
    assert proc.returncode == 0, proc.stderr
    got = {(os.path.basename(s["preferred"]), os.path.basename(s["other"]))
           for s in profile(cat.parent, "lr")["signals"]}
    assert got == {("motorcycle.jpg", "astronaut.jpg"), ("motorcycle.jpg", "chelsea.jpg"),
                   ("astronaut.jpg", "chelsea.jpg")}, got  # the other application's five stars are not Lightroom's
    assert store.read_bytes() == was  # read-only
    wrong = keepers("taste", "import", "lr", "--signals", "--app", "capture-one", "--catalog", cat, tmp=tmp)
    assert wrong.returncode == 2 and "lightroom, other" in wrong.stderr, wrong.stderr


def test_a_taste_setting_naming_a_deleted_profile_stops_the_cull_with_one_line_and_the_daemon_says_it_once(
        culled, caplog):
    from keepers.sidecar import auth
    from keepers.sidecar.app import Daemon
    from keepers.sidecar.client import Client
    from keepers.sidecar.config import DaemonSettings
    from keepers.sidecar.server import Server

    tmp, folder, _, _ = culled
    cat = tmp / "gone" / "catalog.db"
    proc = keepers("cull", "--dry-run", "--taste", "deleted", folder, "--catalog", cat, tmp=tmp)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no taste profile 'deleted'" in proc.stderr, proc.stderr
    assert not cat.exists()  # stopped before any work

    caplog.set_level(logging.WARNING)
    daemon = Daemon(Settings(catalog=cat, workers=1, taste="deleted"), DaemonSettings(port=0, warm_up=False),
                    start_workers=False)
    server = Server(daemon, port=0).start()
    try:
        _, _, key = auth.create_app(daemon.store, "app", [str(folder)])
        c = Client(server.url, key)
        r = c.post("/v1/predict", {"paths": [str(folder / n) for n in ("rocket.jpg", "coffee.jpg")]})
        assert r.status == 200, r
        assert all(x.get("error") is None for x in r.json()["results"]), r.json()
        health = Client(server.url).get("/health").json()["taste"]
        assert health["profile"] == "deleted" and not health["in_use"] and "without taste" in health["note"]
    finally:
        server.stop()
        daemon.close()
    said = [m for m in caplog.messages if "no taste profile 'deleted'" in m]
    assert len(said) == 1, caplog.messages
