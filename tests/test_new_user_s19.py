"""What a new photographer tripped on in session 19, each through the real command or the real exiftool."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import sample_rgb
from helpers import KEEPERS, isolated_env, keepers


def _jpegs(folder: Path, names=("astronaut", "chelsea", "coffee", "rocket", "motorcycle")) -> list[Path]:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in names:
        p = folder / f"{n}.jpg"
        Image.fromarray(sample_rgb(n)).save(p, quality=92)
        out.append(p)
    return out


def test_exiftool_outlives_a_ctrl_c_sent_to_the_terminal_s_process_group(tmp_path):
    # Ctrl-C signals the whole foreground process group. exiftool killed by it in the middle of a command left
    # pyexiftool reading its closed pipe for ever: `timeout -s INT 2 keepers cull` spun at 100 % CPU, never
    # ending (1 run of 12). Keepers stops its exiftool itself, so the Ctrl-C is only Keepers' to handle
    script = textwrap.dedent("""
        import os, signal, sys, time
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # this process is the one that handles Ctrl-C, not exiftool
        from keepers.core.io import exiftool as et_proc
        et = et_proc.get()
        os.killpg(os.getpgrp(), signal.SIGINT)
        time.sleep(1.0)
        print("running" if et.running else "killed")
        print(et.execute("-ver").strip())
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                          start_new_session=True, env=isolated_env(tmp_path))
    assert proc.returncode == 0, proc.stderr
    state, version = proc.stdout.split()
    assert state == "running" and float(version) > 10


def test_a_cull_stopped_with_ctrl_c_exits_130_and_the_next_run_finishes(tmp_path):
    photos = _jpegs(tmp_path / "shoot")
    env = isolated_env(tmp_path)
    proc = subprocess.Popen([KEEPERS, "cull", str(tmp_path / "shoot")], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while time.time() < deadline and not _has_exiftool_child(proc.pid) and proc.poll() is None:
        time.sleep(0.05)  # the moment that hung: the sidecar writers' exiftool is up
    os.killpg(proc.pid, signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)  # it hung here, at 100 % CPU, for ever
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    # 0: it had finished before the Ctrl-C; -SIGINT: it had too, and the Ctrl-C came as Python was ending (it
    # restores the system's own Ctrl-C action last thing), which a shell shows as 130 all the same
    assert proc.returncode in (0, 130, -signal.SIGINT), err
    if proc.returncode == 130:
        assert "interrupted" in err and "Traceback" not in err
    again = keepers("cull", tmp_path / "shoot", tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    assert all(Path(f"{p}.xmp").is_file() for p in photos)


def _has_exiftool_child(pid: int) -> bool:
    for d in os.listdir("/proc"):
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if "(exiftool)" in stat or "(perl)" in stat:
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                return True
    return False


def _profile(tmp_path: Path, name: str = "P") -> None:
    f = tmp_path / "empty.json"
    f.write_text('{"format": "keepers-taste/1", "name": "%s", "signals": []}' % name)
    assert keepers("taste", "import", name, f, tmp=tmp_path).returncode == 0


def test_taste_export_to_a_folder_writes_the_profile_s_file_in_it(tmp_path):
    # it was a traceback: IsADirectoryError from os.replace
    _profile(tmp_path)
    (tmp_path / "out").mkdir()
    proc = keepers("taste", "export", "P", tmp_path / "out", tmp=tmp_path)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    assert f"written to {tmp_path / 'out' / 'P.json'}" in proc.stdout
    back = keepers("taste", "import", "Q", tmp_path / "out" / "P.json", tmp=tmp_path)
    assert back.returncode == 0, back.stderr


def test_taste_import_of_a_photo_instead_of_a_csv_says_so_in_words(tmp_path):
    # it said "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte"
    photo = _jpegs(tmp_path, ("coffee",))[0]
    proc = keepers("taste", "import", "P", photo, tmp=tmp_path)
    assert proc.returncode == 2
    assert "not a CSV of choices" in proc.stderr and "codec" not in proc.stderr, proc.stderr


def test_show_on_a_folder_says_it_takes_one_photo(tmp_path):
    # it printed the folder's first photo's verdict, exit 0, as if it were the folder's
    _jpegs(tmp_path / "shoot", ("coffee", "chelsea"))
    proc = keepers("show", tmp_path / "shoot", tmp=tmp_path)
    assert proc.returncode == 2 and "coffee" not in proc.stdout + proc.stderr
    assert "is a folder" in proc.stderr and "keepers cull" in proc.stderr, proc.stderr


def test_similar_says_what_is_wrong_with_the_photo_or_the_count_it_was_given(tmp_path):
    shoot = tmp_path / "shoot"
    _jpegs(shoot, ("coffee", "chelsea", "rocket"))
    (shoot / "card_error.jpg").write_bytes((shoot / "coffee.jpg").read_bytes()[:3000])
    assert keepers("cull", shoot, tmp=tmp_path).returncode == 1
    # -k -2 listed every photo in the catalog; -k 0 said "nothing found (are the photos analysed?)"
    for k in ("0", "-2"):
        proc = keepers("similar", shoot / "coffee.jpg", "-k", k, tmp=tmp_path)
        assert proc.returncode == 2 and "chelsea" not in proc.stdout and "1 or more" in proc.stderr, proc.stderr
    # a file not there was "not in the catalog; run `keepers cull` on its folder first"
    gone = keepers("similar", shoot / "nope.jpg", tmp=tmp_path)
    assert gone.returncode == 2 and "no such file" in gone.stderr, gone.stderr
    folder = keepers("similar", shoot, tmp=tmp_path)  # it said the same
    assert folder.returncode == 2 and "is a folder" in folder.stderr, folder.stderr
    # a photo culled but not readable was "photo 4 has no stored embedding; run `keepers cull` on its folder first"
    bad = keepers("similar", shoot / "card_error.jpg", tmp=tmp_path)
    assert bad.returncode == 2 and "could not be judged" in bad.stderr and "truncated" in bad.stderr, bad.stderr
    assert "run `keepers cull`" not in bad.stderr


def _as_a_user(args: list) -> list:
    """`args` run without root's power to read any file (root: the capabilities dropped; others: as they are)."""
    import shutil

    import pytest

    if os.geteuid() != 0:
        return args
    if not shutil.which("setpriv"):
        pytest.skip("needs setpriv to run without root's file access")
    caps = "-dac_override,-dac_read_search"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}", *args]


def test_an_unreadable_photo_the_size_of_a_catalogued_one_is_an_error_of_its_own_not_a_traceback(tmp_path):
    # a file the size of one in the catalog is hashed before analysis, to find a moved or copied photo; an
    # unreadable one was a PermissionError traceback that ended the whole cull
    coffee = _jpegs(tmp_path / "day1", ("coffee",))[0]
    assert keepers("cull", tmp_path / "day1", tmp=tmp_path).returncode == 0
    day2 = tmp_path / "day2"
    day2.mkdir()
    data = bytearray(coffee.read_bytes())
    data[len(data) // 2] ^= 0xFF  # other content, the same size
    (day2 / "locked.jpg").write_bytes(bytes(data))
    (day2 / "locked.jpg").chmod(0)
    _jpegs(day2, ("rocket",))
    proc = subprocess.run(_as_a_user([KEEPERS, "cull", str(day2)]), capture_output=True, text=True, timeout=300,
                          env=isolated_env(tmp_path))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "locked.jpg: cannot read the file: Permission denied" in proc.stdout, proc.stdout
    assert (day2 / "rocket.jpg.xmp").is_file()


def test_serve_on_a_port_in_use_says_so_in_one_line(tmp_path):
    # it was a 20-line OSError traceback from waitress, "Address already in use" at its end
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = keepers("serve", "--port", port, tmp=tmp_path, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in proc.stderr, proc.stderr


def test_similar_lists_every_copy_of_a_hit_whatever_k(tmp_path):
    # copies were only those that happened to rank among the first k hits: with -k 1 none
    import json
    import shutil

    _jpegs(tmp_path / "a", ("astronaut", "chelsea", "coffee", "rocket"))
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    shutil.copytree(tmp_path / "a", tmp_path / "c")
    assert keepers("cull", tmp_path / "a", tmp_path / "b", tmp_path / "c", tmp=tmp_path).returncode == 0
    one = keepers("similar", tmp_path / "a" / "astronaut.jpg", "-k", "1", "--json", tmp=tmp_path)
    hit = json.loads(one.stdout.splitlines()[0])
    name = Path(hit["path"]).name
    assert sorted(Path(p).parent.name for p in [hit["path"], *hit["copies"]]) == ["a", "b", "c"], hit
    assert all(Path(p).name == name for p in hit["copies"])


def test_taste_show_says_when_it_cannot_yet_say_what_the_profile_prefers(tmp_path):
    # the README promises "what it prefers, in words"; with too few photos to say it, nothing was said at all
    shoot = tmp_path / "shoot"
    _jpegs(shoot, ("coffee", "chelsea", "rocket"))
    (shoot / "choices.csv").write_text("preferred,other\ncoffee.jpg,chelsea.jpg\nrocket.jpg,chelsea.jpg\n")
    assert keepers("taste", "import", "P", shoot / "choices.csv", tmp=tmp_path).returncode == 0
    proc = keepers("taste", "show", "P", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "what it prefers cannot be said in words yet" in proc.stdout, proc.stdout


def test_a_cull_of_a_folder_without_photos_says_none_were_found(tmp_path):
    # it printed a summary of zeros and nothing else: the wrong folder, or photos in a format Keepers does not read,
    # looked like an empty shoot
    (tmp_path / "shoot").mkdir()
    (tmp_path / "shoot" / "IMG_0001.gif").write_bytes(b"GIF89a")
    proc = keepers("cull", tmp_path / "shoot", tmp=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"no photos found in {tmp_path / 'shoot'}" in proc.stderr and "JPEG" in proc.stderr, proc.stderr


def test_taste_import_review_with_one_photo_rated_does_not_say_no_choice_was_made(tmp_path):
    # one photo given 5 stars in the page was "no choices made in the review page": a choice needs two photos
    from keepers.core.commands.cull import run_cull
    from keepers.core.settings import Settings
    from keepers.sidecar.review.state import Review

    shoot = tmp_path / "shoot"
    _jpegs(shoot, ("coffee", "rocket"))
    settings = Settings(catalog=tmp_path / "catalog.db", workers=1)
    results, _ = run_cull([str(shoot)], settings, quiet=True)
    review = Review(settings, results, [str(shoot)])
    try:
        item = next(it for it in review.items.values() if it.photo.path.endswith("coffee.jpg"))
        review.change(item.id, rating=5 if item.rating != 5 else 4)
    finally:
        review.close()
    proc = keepers("taste", "import", "P", "--review", shoot, "--catalog", settings.catalog, tmp=tmp_path)
    assert proc.returncode == 2 and "no choices made" not in proc.stderr, proc.stderr
    assert "no two photos of one folder rated, rejected or picked differently in the review page" in proc.stderr


def test_taste_import_signals_before_any_were_sent_names_no_empty_sender(tmp_path):
    # it printed "0 photos with your picks, rejects or stars sent by : 0 choices"
    (tmp_path / "lib").mkdir()
    assert keepers("apps", "create", "lr", "--root", tmp_path / "lib", tmp=tmp_path).returncode == 0
    proc = keepers("taste", "import", "P", "--signals", tmp=tmp_path)
    assert proc.returncode == 2 and "sent by :" not in proc.stdout, proc.stdout
    assert "sent by no application yet" in proc.stdout, proc.stdout


def test_a_bad_value_in_the_config_file_is_said_in_one_line_without_pydantic_s_wording(tmp_path):
    # it was "1 validation error for Settings", the value's type error and "For further information visit
    # https://errors.pydantic.dev/2.14/v/float_parsing", over four lines
    _jpegs(tmp_path / "shoot", ("coffee",))
    config = tmp_path / "config.toml"
    config.write_text('good_threshold = "high"\n')
    proc = keepers("cull", tmp_path / "shoot", "--config", config, tmp=tmp_path)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "pydantic" not in err and "validation error" not in err, err
    assert "good_threshold" in err and "'high'" in err and "a valid number" in err, err


def test_keepers_demo_never_deletes_a_folder_that_holds_the_photographer_s_files(tmp_path):
    # `keepers demo FOLDER` removed FOLDER whole before building: `keepers demo ~/Pictures` deleted the pictures
    mine = tmp_path / "Pictures"
    photo = _jpegs(mine, ("rocket",))[0]
    (mine / "notes.txt").write_text("mine")
    proc = keepers("demo", mine, tmp=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "not a demo's" in proc.stderr and "rocket.jpg" in proc.stderr, proc.stderr
    assert photo.is_file() and (mine / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt", "rocket.jpg"]


def test_keepers_demo_builds_again_over_its_own_folder_sorted_or_not(tmp_path):
    demo = tmp_path / "demo-photos"
    assert keepers("demo", demo, tmp=tmp_path).returncode == 0
    assert keepers("sort", demo, tmp=tmp_path).returncode == 0  # good/, bad/ and the journal: still the demo's
    again = keepers("demo", demo, tmp=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (demo / "chelsea_blurred.jpg.xmp").is_file() and not (demo / "good").exists()
