"""A `taste` setting naming a deleted profile, said once. Real photos (`keepers demo`'s), the real command,
catalog and daemon."""

from __future__ import annotations

import logging

import pytest

from helpers import keepers
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
