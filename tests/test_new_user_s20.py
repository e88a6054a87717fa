"""What a new photographer tripped on in session 20, each through the real command."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import sample_rgb
from helpers import keepers


def test_a_catalog_option_naming_a_short_file_of_another_kind_is_refused_and_the_file_kept(tmp_path):
    # SQLite took a file too short for its header for an empty database: the cull wrote its catalog over the note
    from PIL import Image

    (tmp_path / "shoot").mkdir()
    Image.fromarray(sample_rgb("coffee")).save(tmp_path / "shoot" / "coffee.jpg")
    note = tmp_path / "notes.txt"
    note.write_bytes(b"x")
    proc = keepers("cull", "--catalog", note, tmp_path / "shoot", tmp=tmp_path)
    assert proc.returncode == 2 and f"cannot open the catalog {note}: file is not a database" in proc.stderr
    assert note.read_bytes() == b"x"
    new = tmp_path / "empty.db"
    new.touch()  # an empty file is a new catalog, as a path not there yet is
    assert keepers("cull", "--catalog", new, tmp_path / "shoot", tmp=tmp_path).returncode == 0
    assert Path(new).read_bytes().startswith(b"SQLite format 3\x00")


def test_taste_export_onto_a_photo_refuses_and_keeps_the_photo_but_replaces_an_earlier_export(tmp_path):
    # `keepers taste export P coffee.jpg` replaced the photo with the profile's JSON
    from PIL import Image

    f = tmp_path / "empty.json"
    f.write_text('{"format": "keepers-taste/1", "name": "P", "signals": []}')
    assert keepers("taste", "import", "P", f, tmp=tmp_path).returncode == 0
    photo = tmp_path / "coffee.jpg"
    Image.fromarray(sample_rgb("coffee")).save(photo)
    before = photo.read_bytes()
    proc = keepers("taste", "export", "P", photo, tmp=tmp_path)
    assert proc.returncode == 2 and "is there and is not a taste profile: not overwritten" in proc.stderr, proc
    assert photo.read_bytes() == before
    again = keepers("taste", "export", "P", f, tmp=tmp_path)  # the file it was imported from: an export, replaced
    assert again.returncode == 0 and f"written to {f}" in again.stdout, again.stderr


def test_a_sort_with_the_culls_host_writes_no_sidecar_that_host_ignores_and_files_the_same(tmp_path):
    # `keepers sort` took no --host: after `cull --host lightroom` it culled again in the generic conventions and
    # wrote coffee.jpg.xmp, a sidecar Lightroom never reads (beside a RAW+JPEG pair's IMG.xmp, a second one)
    from PIL import Image

    shoot = tmp_path / "shoot"
    shoot.mkdir()
    Image.fromarray(sample_rgb("coffee")).save(shoot / "coffee.jpg")
    assert keepers("cull", "--host", "lightroom", shoot, tmp=tmp_path).returncode == 0
    assert not (shoot / "coffee.jpg.xmp").exists()  # Lightroom reads the XMP inside a JPEG, not a sidecar
    dry = keepers("sort", "--host", "lightroom", "--dry-run", shoot, tmp=tmp_path)
    proc = keepers("sort", "--host", "lightroom", shoot, tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in shoot.rglob("*") if p.is_file() and p.name != ".keepers-sort.json") == [
        "coffee.jpg", "coffee.jpg"]  # the photo and its copy in good/ or bad/, and no sidecar
    assert dry.stdout.count("would copy") == 1, dry.stdout
    assert "--host" in keepers("review", "--help", tmp=tmp_path).stdout  # it culls first too


def test_serve_on_a_misspelt_host_says_so_in_one_line_and_on_ipv6_prints_a_url_that_opens(tmp_path):
    # `--host localhots` ended in waitress' "ValueError: Invalid host/port specified." traceback; `--host ::1`
    # printed http://::1:PORT, which no browser or curl opens
    import re
    import subprocess
    import urllib.request

    from helpers import KEEPERS, isolated_env

    proc = keepers("serve", "--host", "localhots", "--port", "0", tmp=tmp_path, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert "cannot listen on localhots: not an address of this machine nor a name it resolves" in proc.stderr
    import socket

    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    serve = subprocess.Popen([KEEPERS, "serve", "--host", "::1", "--port", "0"], env=isolated_env(tmp_path),
                             stderr=subprocess.PIPE, text=True)
    try:
        line = ""
        while "keepers daemon on" not in line:
            line = serve.stderr.readline()
            assert line, "the daemon ended before it listened (no IPv6 here?)"
        url = re.search(r"on (http://\S+) ", line).group(1)
        assert url.startswith("http://[::1]:")
        with urllib.request.urlopen(f"{url}/health", timeout=30) as r:
            assert r.status == 200
    finally:
        serve.terminate()
        serve.wait(30)


def test_a_bad_daemon_option_is_said_in_one_line_and_a_negative_settle_time_refused(tmp_path):
    # `keepers watch --settle -1` ran as if it were 0; `serve --port -5` printed pydantic's four lines and a web link
    (tmp_path / "import").mkdir()
    watch = keepers("watch", tmp_path / "import", "--settle", "-1", tmp=tmp_path, timeout=60)
    assert watch.returncode == 2, watch.stderr
    assert "bad option: --settle: input should be greater than or equal to 0 (given -1.0)" in watch.stderr
    serve = keepers("serve", "--port", "-5", tmp=tmp_path, timeout=60)
    assert serve.returncode == 2 and serve.stderr.strip().count("\n") == 0, serve.stderr
    assert "bad option: --port: input should be greater than or equal to 0 (given -5)" in serve.stderr


def test_taste_export_replaces_a_large_profile_exported_before(tmp_path):
    # only its first megabyte was read, which parses as nothing: a profile of 4,000 choices was "not a profile"
    import json

    big = tmp_path / "big.json"
    signals = [{"preferred": f"a{i:05d}.jpg", "other": f"b{i:05d}.jpg", "source": "csv"} for i in range(20000)]
    big.write_text(json.dumps({"format": "keepers-taste/1", "name": "P", "signals": signals}))
    assert big.stat().st_size > 1 << 20
    small = tmp_path / "small.json"
    small.write_text('{"format": "keepers-taste/1", "name": "P", "signals": []}')
    assert keepers("taste", "import", "P", small, tmp=tmp_path).returncode == 0
    proc = keepers("taste", "export", "P", big, tmp=tmp_path)
    assert proc.returncode == 0 and f"written to {big}" in proc.stdout, proc.stderr
