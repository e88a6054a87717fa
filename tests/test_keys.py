"""API keys and applications from the command line, against a running `keepers serve`: a key is shown once,
stored as a hash, listed without its secret, and refused by the daemon as soon as it is revoked."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from keepers.sidecar.client import Client

KEEPERS = str(Path(sys.executable).with_name("keepers"))


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("keys")
    (tmp / "library").mkdir()
    (tmp / "other").mkdir()
    e = {**os.environ, "XDG_DATA_HOME": str(tmp / "data"), "XDG_CONFIG_HOME": str(tmp / "config"),
         "KEEPERS_LOAD_PLUGINS": "0", "KEEPERS_DAEMON_WARM_UP": "0"}
    return tmp, e


def keepers(env, *args) -> subprocess.CompletedProcess:
    tmp, e = env
    return subprocess.run([KEEPERS, *map(str, args), "--catalog", str(tmp / "catalog.db")], capture_output=True,
                          text=True, env=e, timeout=60)


@pytest.fixture(scope="module")
def daemon(env):
    tmp, e = env
    proc = subprocess.Popen([KEEPERS, "serve", "--port", "0", "--catalog", str(tmp / "catalog.db")],
                            stderr=subprocess.PIPE, text=True, env=e)
    line, end = "", time.monotonic() + 60
    while "daemon on" not in line and time.monotonic() < end:
        line = proc.stderr.readline()
    assert "daemon on" in line, line
    yield line.split("daemon on ")[1].split()[0]
    proc.terminate()
    proc.wait(timeout=30)
    proc.stderr.close()


def test_a_new_application_gets_one_key_with_every_scope_shown_once(env, daemon):
    tmp, _ = env
    made = keepers(env, "apps", "create", "studio", "--root", tmp / "library")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("kp_") and len(token) > 40 and "only time" in made.stderr
    me = Client(daemon, token).get("/v1/me").json()
    assert me["application"] == "studio"
    assert set(me["key"]["scopes"]) == {"predict", "search", "workflows", "models:add", "models:patch", "keys:admin",
                                        "taste"}  # an application's first key holds every scope
    listed = keepers(env, "keys", "list", "--json")
    assert token not in listed.stdout and token[:10] in listed.stdout


def test_keys_are_stored_only_as_sha256_hashes(env):
    tmp, _ = env
    token = keepers(env, "keys", "create", "--app", "studio", "--scope", "search", "--note", "phone").stdout.strip()
    db = tmp / "daemon.db"
    rows = sqlite3.connect(db).execute("SELECT hash, prefix, note FROM keys").fetchall()
    assert (hashlib.sha256(token.encode()).hexdigest(), token[:10], "phone") in rows
    raw = b"".join(p.read_bytes() for p in tmp.glob("daemon.db*"))
    assert token.encode() not in raw and token[10:].encode() not in raw
    assert oct(db.stat().st_mode & 0o777) == "0o600"


def test_a_key_revoked_from_the_command_line_is_refused_by_the_running_daemon(env, daemon):
    made = keepers(env, "keys", "create", "--app", "studio", "--scope", "predict", "--scope", "search")
    token = made.stdout.strip()
    c = Client(daemon, token)
    assert c.get("/v1/models").status == 200
    assert c.get("/v1/keys").status == 403  # no keys:admin scope
    key_id = [k for k in json.loads(keepers(env, "keys", "list", "--json").stdout) if k["prefix"] == token[:10]][0]["id"]
    revoked = keepers(env, "keys", "revoke", key_id)
    assert revoked.returncode == 0, revoked.stderr
    r = c.get("/v1/models")
    assert r.status == 401 and r.json()["error"]["code"] == "key_revoked"  # not a generic 401: said as such
    assert keepers(env, "keys", "revoke", key_id).returncode == 2  # already revoked: nothing to do, said plainly


def test_the_command_line_refuses_bad_applications_and_scopes(env):
    tmp, _ = env
    missing = keepers(env, "apps", "create", "ghost", "--root", tmp / "no-such-folder")
    assert missing.returncode == 2 and "not a folder" in missing.stderr
    dup = keepers(env, "apps", "create", "studio", "--root", tmp / "other")
    assert dup.returncode == 2 and "exists already" in dup.stderr
    assert keepers(env, "keys", "create", "--app", "studio", "--scope", "root").returncode == 2
    nobody = keepers(env, "keys", "create", "--app", "nobody", "--scope", "predict")
    assert nobody.returncode == 2 and "no application" in nobody.stderr


def test_one_applications_key_cannot_read_another_applications_library(env, daemon):
    tmp, _ = env
    other = keepers(env, "apps", "create", "second", "--root", tmp / "other").stdout.strip()
    studio_photo = str(tmp / "library" / "x.jpg")
    r = Client(daemon, other).post("/v1/predict", {"paths": [studio_photo]})
    assert r.status == 403 and r.json()["error"]["code"] == "path_refused"
