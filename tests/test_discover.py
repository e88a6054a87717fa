"""discover(): which files under some paths are photos, RAW+JPEG pairs, and what cannot be walked."""

from __future__ import annotations

import os
import pickle
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from keepers.core.io.discover import discover

NOBODY = 65534


def touch(root: Path, *names: str) -> None:
    for n in names:
        p = root / n
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"x")


def names(photos, root: Path) -> list[str]:
    return [os.path.relpath(p.path, root) for p in photos]


def as_unprivileged(fn):
    """fn() as a user whom file permissions bind: root reads chmod-000 files, so run it in a child as nobody."""
    if os.geteuid() != 0:
        return fn()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop root, run, send the result back, never return into pytest
        try:
            os.close(r)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            out = pickle.dumps(("ok", fn()))
        except BaseException as e:  # noqa: BLE001 - everything must reach the parent
            out = pickle.dumps(("raised", repr(e)))
        os.write(w, out)
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 1 << 16):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    status, value = pickle.loads(data)
    assert status == "ok", value
    return value


@pytest.fixture
def open_dir():
    """A folder every user can reach (pytest's tmp_path sits under a root-only folder)."""
    d = Path(tempfile.mkdtemp(prefix="keepers-perm-"))
    d.chmod(0o755)
    yield d
    for p in [d, *d.rglob("*")]:
        if p.is_dir():
            p.chmod(0o755)
    shutil.rmtree(d)


def test_walk_keeps_photo_files_of_every_kind_and_skips_the_rest(tmp_path):
    touch(tmp_path, "a.jpg", "b.JPEG", "c.jpe", "d.png", "e.TIF", "f.tiff", "g.webp", "h.HEIC", "i.heif", "j.hif",
          "k.NEF", "sub/deeper/l.arw", "a.jpg.xmp", "notes.txt", "clip.mp4", ".hidden/m.jpg", "._n.jpg",
          "@eaDir/SYNOPHOTO_THUMB_XL.jpg")
    photos, errors = discover([tmp_path])
    assert errors == []
    assert names(photos, tmp_path) == ["a.jpg", "b.JPEG", "c.jpe", "d.png", "e.TIF", "f.tiff", "g.webp", "h.HEIC",
                                       "i.heif", "j.hif", "k.NEF", "sub/deeper/l.arw"]
    assert [p.kind for p in photos] == ["jpeg"] * 3 + ["png", "tiff", "tiff", "webp", "heif", "heif", "heif", "raw",
                                                       "raw"]


def test_non_recursive_walk_stays_in_the_named_folder(tmp_path):
    touch(tmp_path, "top.jpg", "sub/below.jpg")
    photos, _ = discover([tmp_path], recursive=False)
    assert names(photos, tmp_path) == ["top.jpg"]


def test_raw_and_jpeg_of_the_same_frame_become_one_photo(tmp_path):
    touch(tmp_path, "IMG_1.CR3", "IMG_1.JPG", "IMG_2.JPG", "IMG_3.NEF", "IMG_4.ARW", "IMG_4.HIF", "other/IMG_1.JPG")
    photos, _ = discover([tmp_path])
    by_name = {os.path.relpath(p.path, tmp_path): p for p in photos}
    assert sorted(by_name) == ["IMG_1.CR3", "IMG_2.JPG", "IMG_3.NEF", "IMG_4.ARW", "other/IMG_1.JPG"]
    pair = by_name["IMG_1.CR3"]
    assert pair.kind == "raw" and pair.companions == [str(tmp_path / "IMG_1.JPG")]
    assert pair.files == [str(tmp_path / "IMG_1.CR3"), str(tmp_path / "IMG_1.JPG")]
    assert by_name["IMG_4.ARW"].companions == [str(tmp_path / "IMG_4.HIF")]  # RAW+HEIF, as recent bodies shoot
    assert by_name["IMG_3.NEF"].companions == [] and by_name["other/IMG_1.JPG"].kind == "jpeg"


def test_a_file_named_explicitly_is_kept_whatever_its_extension(tmp_path):
    touch(tmp_path, "scan.bmp", "photo.jpg")
    photos, errors = discover([tmp_path / "scan.bmp", tmp_path / "photo.jpg"])
    assert [(os.path.basename(p.path), p.kind) for p in photos] == [("photo.jpg", "jpeg"), ("scan.bmp", "unknown")]
    assert errors == []


def test_a_missing_path_is_reported_not_raised(tmp_path):
    touch(tmp_path, "a.jpg")
    photos, errors = discover([tmp_path / "nope", tmp_path])
    assert names(photos, tmp_path) == ["a.jpg"]
    assert errors == [(str(tmp_path / "nope"), "no such file or folder")]


def test_a_photo_named_twice_is_found_once(tmp_path):
    touch(tmp_path, "a.jpg")
    photos, _ = discover([tmp_path, tmp_path / "a.jpg", str(tmp_path)])
    assert len(photos) == 1


def test_order_is_sorted_by_path_whatever_the_order_given(tmp_path):
    touch(tmp_path, "b/2.jpg", "a/1.jpg", "c.jpg", "a/0.png")
    first, _ = discover([tmp_path / "b", tmp_path])
    second, _ = discover([tmp_path, tmp_path / "b"])
    assert first == second
    assert names(first, tmp_path) == ["a/0.png", "a/1.jpg", "b/2.jpg", "c.jpg"]


def test_odd_unicode_and_non_utf8_file_names_are_found(tmp_path):
    touch(tmp_path, "été 🌅 .jpg", "日本語.JPG", "line\nbreak.jpg")
    raw_name = os.path.join(os.fsencode(tmp_path), b"caf\xe9.jpg")  # Latin-1 bytes, not valid UTF-8
    with open(raw_name, "wb") as f:
        f.write(b"x")
    photos, errors = discover([tmp_path])
    assert errors == []
    found = {os.fsencode(os.path.basename(p.path)) for p in photos}
    assert found == {"été 🌅 .jpg".encode(), "日本語.JPG".encode(), b"line\nbreak.jpg", b"caf\xe9.jpg"}
    assert all(os.path.exists(p.path) for p in photos)  # the str paths still name the files on disk
    photos_from_bytes, _ = discover([raw_name])
    assert os.fsencode(photos_from_bytes[0].path) == raw_name


def test_an_unreadable_folder_is_reported_and_the_rest_is_still_found(open_dir):
    touch(open_dir, "ok/a.jpg", "locked/b.jpg")
    (open_dir / "locked").chmod(0)
    photos, errors = as_unprivileged(lambda: discover([open_dir]))
    assert names(photos, open_dir) == ["ok/a.jpg"]
    assert errors == [(str(open_dir / "locked"), "cannot read the folder: permission denied")]
    _, errors = as_unprivileged(lambda: discover([open_dir / "locked" / "b.jpg"]))
    assert errors == [(str(open_dir / "locked" / "b.jpg"), "permission denied")]


def test_a_named_socket_or_fifo_is_reported(tmp_path):
    os.mkfifo(tmp_path / "pipe.jpg")
    photos, errors = discover([tmp_path / "pipe.jpg"])
    assert photos == [] and errors == [(str(tmp_path / "pipe.jpg"), "not a regular file or folder")]
    assert stat.S_ISFIFO(os.stat(tmp_path / "pipe.jpg").st_mode)


def test_real_camera_folders_are_walked_without_errors(shared_data):
    photos, errors = discover([shared_data / "camera"])
    assert errors == []
    kinds = {p.kind for p in photos}
    assert {"jpeg", "png", "tiff", "webp", "heif", "raw"} <= kinds
    assert all(not p.path.endswith(".xmp") for p in photos)
    # the exiftool test set ships FujiFilm.raf beside FujiFilm.jpg: one frame
    raf = next(p for p in photos if p.path.endswith("FujiFilm.raf"))
    assert [os.path.basename(c) for c in raf.companions] == ["FujiFilm.jpg"]
