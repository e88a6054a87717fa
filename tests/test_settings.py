"""One settings object owns config.toml (core/settings.py): `--config FILE` decides the colour labels the sidecars get
and where and how the daemon runs, over the default config file; KEEPERS_DAEMON_<NAME> and options beat the file."""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from PIL import Image
from skimage import data as skdata

from helpers import KEEPERS, isolated_env, keepers

from keepers.core.errors import UserError
from keepers.core.settings import Settings

ROLES = ("reject", "pick", "alternate", "keeper", "other")


def labels_table(colour: str) -> str:
    # every role one colour: whatever the photo's verdict, its label tells which file was read
    return "[labels]\n" + "".join(f'{r} = "{colour}"\n' for r in ROLES)


def default_config(tmp: Path, text: str) -> None:
    """The config file at the default path of helpers.isolated_env (<XDG_CONFIG_HOME>/keepers/config.toml)."""
    path = tmp / "xdg_config_home" / "keepers" / "config.toml"
    path.parent.mkdir(parents=True)
    path.write_text(text)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_keepers_cull_with_a_config_file_colours_the_sidecar_with_its_labels_table(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.fromarray(skdata.chelsea()).save(photos / "cat.jpg", quality=90)
    default_config(tmp_path, labels_table("blue"))  # the default file says blue: --config must beat it
    mine = tmp_path / "elsewhere" / "my-keepers.toml"
    mine.parent.mkdir()
    mine.write_text(labels_table("purple"))
    p = keepers("cull", "--config", mine, "--workers", "1", photos, tmp=tmp_path)
    assert p.returncode in (0, 1), p.stderr
    out = subprocess.run(["exiftool", "-j", "-XMP-xmp:Label", str(photos / "cat.jpg.xmp")],
                         capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)[0]["Label"] == "Purple"


def test_keepers_serve_listens_on_the_port_and_keeps_keys_in_the_store_its_config_files_daemon_table_names(tmp_path):
    port, store = free_port(), tmp_path / "elsewhere" / "my-daemon.db"
    store.parent.mkdir()
    mine = tmp_path / "my-keepers.toml"
    mine.write_text(f'[daemon]\nport = {port}\nstore = "{store}"\nwarm_up = false\n')
    default_config(tmp_path, "[daemon]\nport = 1\n")  # the default file's port would fail to bind
    (tmp_path / "photos").mkdir()
    p = keepers("apps", "create", "mine", "--root", tmp_path / "photos", "--config", mine, tmp=tmp_path)
    assert p.returncode == 0, p.stderr
    assert store.is_file() and not (tmp_path / "xdg_data_home" / "keepers" / "daemon.db").exists()
    proc = subprocess.Popen([KEEPERS, "serve", "--config", str(mine), "--workers", "1"], env=isolated_env(tmp_path),
                            stderr=subprocess.PIPE, text=True)
    try:
        said, end = [""], time.monotonic() + 90
        while "daemon on" not in said[-1] and time.monotonic() < end:
            said.append(proc.stderr.readline())
            assert said[-1] or proc.poll() is None, "the daemon exited: " + "".join(said)
        assert f"http://127.0.0.1:{port} " in said[-1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=30) as r:
            assert r.status == 200
        assert not any("no application yet" in s for s in said)  # it opened the store the file names
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


def test_daemon_variables_beat_the_config_file_and_command_line_options_beat_both(tmp_path, monkeypatch):
    mine = tmp_path / "my-keepers.toml"
    mine.write_text('host = "digikam"\n[labels]\npick = ""\n[daemon]\nport = 1111\nthreads = 3\n')
    monkeypatch.setenv("KEEPERS_DAEMON_PORT", "2222")
    s = Settings.load(mine)
    assert (s.host, s.labels, s.daemon.port, s.daemon.threads) == ("digikam", {"pick": ""}, 2222, 3)
    assert s.daemon.updated(port=3333, host=None).port == 3333 and s.daemon.updated(host=None).host == "127.0.0.1"
    with pytest.raises(UserError, match="port"):
        s.daemon.updated(port=70000)


def test_a_broken_or_missing_config_file_is_said_in_one_line_without_a_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[labels\npick = green\n")
    p = keepers("hosts", "--config", bad, tmp=tmp_path)
    assert p.returncode == 2 and "cannot read the config file" in p.stderr and "Traceback" not in p.stderr
    (tmp_path / "wrong.toml").write_text("[daemon]\nport = 99999\n")
    p = keepers("hosts", "--config", tmp_path / "wrong.toml", tmp=tmp_path)
    assert p.returncode == 2 and "port" in p.stderr and "Traceback" not in p.stderr
    p = keepers("hosts", "--config", tmp_path / "missing.toml", tmp=tmp_path)
    assert p.returncode == 2 and "missing.toml not found" in p.stderr
