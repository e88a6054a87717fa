"""The SQLite catalog: schema migrations, WAL, findings and verdicts round-trip."""

import numpy as np

from keepers.core.io.catalog import MIGRATIONS, Catalog
from keepers.core.types import Finding, Meta, Photo, Reason, Verdict


def test_a_new_catalog_is_migrated_to_the_latest_schema_in_wal_mode(tmp_path):
    cat = Catalog(tmp_path / "c.db")
    assert cat.schema_version == len(MIGRATIONS)
    assert cat.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cat.close()
    again = Catalog(tmp_path / "c.db")  # reopening migrates nothing twice
    assert again.schema_version == len(MIGRATIONS)


def test_findings_embeddings_and_verdicts_round_trip(tmp_path):
    cat = Catalog(tmp_path / "c.db")
    emb = np.arange(8, dtype=np.float32)
    f = Finding("embedding", "2", None, [Reason("x", "y", 0.5)], 0.0, {"a": 1.5}, {"embedding": emb, "labels": ["cat"]})
    pid = cat.save(Photo("/p/a.jpg", "jpeg"), content_hash="h", size=1, mtime_ns=2, meta=Meta(iso=400), findings=[f],
                   error=None)
    back = cat.findings(pid)[0]
    assert back.features == {"a": 1.5} and back.data["labels"] == ["cat"] and back.reasons[0].code == "x"
    assert np.array_equal(back.data["embedding"], emb)
    assert cat.meta(pid).iso == 400 and cat.analyzer_versions(pid) == {"embedding": "2"}
    cat.save_verdict(pid, Verdict(7.5, "good", 0.9, 4, [Reason("noise", "grain", 0.3, 1.2)], ["animal|cat"]))
    v = cat.verdict(pid)
    assert (v.score, v.stars, v.keywords, v.reasons[0].cost) == (7.5, 4, ["animal|cat"], 1.2)


def test_a_photo_saved_again_replaces_its_old_findings(tmp_path):
    cat = Catalog(tmp_path / "c.db")
    p = Photo("/p/a.jpg", "jpeg")
    cat.save(p, content_hash="h", size=1, mtime_ns=2, meta=None, findings=[Finding("a", "1", 0.5)], error=None)
    pid = cat.save(p, content_hash="h2", size=1, mtime_ns=3, meta=None, findings=[Finding("b", "1", 0.9)], error=None)
    assert [f.analyzer for f in cat.findings(pid)] == ["b"]
    assert cat.counts()["photos"] == 1


# --- the catalog follows the photos: moves, copies, deletions ----------------------------------------------------


def _photo(cat: Catalog, path, content: bytes, written: str | None = "fp") -> int:
    """A file on disk and its analysed row, with a verdict whose sidecar write is recorded as `written`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    st = path.stat()
    pid = cat.save(Photo(str(path), "jpeg"), content_hash=content.hex(), size=st.st_size, mtime_ns=st.st_mtime_ns,
                   meta=Meta(iso=100), findings=[Finding("sharpness", "1", 0.8)], error=None)
    cat.save_verdict(pid, Verdict(7.0, "good", 0.9, 4, [], []), written=written)
    return pid


def test_a_catalog_made_before_rows_could_be_marked_missing_is_upgraded_with_its_photos(tmp_path):
    import sqlite3

    db = sqlite3.connect(tmp_path / "old.db")
    db.executescript(f"BEGIN; {MIGRATIONS[0]}; PRAGMA user_version = 1; COMMIT;")
    db.execute("INSERT INTO photos (path, content_hash, size, mtime_ns, kind) VALUES ('/p/a.jpg', 'h', 1, 2, 'jpeg')")
    db.commit()
    db.close()
    cat = Catalog(tmp_path / "old.db")
    assert cat.schema_version == len(MIGRATIONS) == 2
    assert cat.photo_row("/p/a.jpg")["missing_since"] is None and cat.missing_ids() == set()


def test_a_moved_photo_keeps_its_row_and_what_its_sidecar_holds_while_a_copy_gets_a_row_of_its_own(tmp_path):
    cat = Catalog(tmp_path / "c.db")
    pid = _photo(cat, tmp_path / "a" / "x.jpg", b"frame one")
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.jpg").rename(tmp_path / "b" / "x.jpg")
    moved = Photo(str(tmp_path / "b" / "x.jpg"), "jpeg")
    assert cat.adopt(moved, b"frame one".hex(), 9, 1) == (pid, "moved")
    assert cat.photo_row(moved.path)["id"] == pid and cat.photo_row(str(tmp_path / "a" / "x.jpg")) is None
    assert cat.written(pid) == "fp"  # the sidecar moved with the photo: it still holds what was written

    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x.jpg").write_bytes(b"frame one")
    copy = Photo(str(tmp_path / "c" / "x.jpg"), "jpeg")
    cid, how = cat.adopt(copy, b"frame one".hex(), 9, 1)
    assert how == "copied" and cid != pid and cat.photo_row(moved.path)["id"] == pid
    assert [f.analyzer for f in cat.findings(cid)] == ["sharpness"] and cat.meta(cid).iso == 100
    assert cat.written(cid) is None  # its sidecars are written when the copy is culled
    assert cat.adopt(Photo(str(tmp_path / "new.jpg"), "jpeg"), b"never seen".hex(), 10, 1) is None


def test_identical_photos_moved_together_each_keep_their_own_row(tmp_path):
    """Two copies of one frame in two sub-folders: after the parent moves, each row follows its own file (the
    one whose path ends the same), so neither's record of its sidecar is swapped with the other's."""
    cat = Catalog(tmp_path / "c.db")
    first = _photo(cat, tmp_path / "a" / "base" / "x.jpg", b"same", written="pick")
    second = _photo(cat, tmp_path / "a" / "mixed" / "x.jpg", b"same", written="alternate")
    (tmp_path / "a").rename(tmp_path / "b")
    assert cat.adopt(Photo(str(tmp_path / "b" / "mixed" / "x.jpg"), "jpeg"), b"same".hex(), 4, 1) == (second, "moved")
    assert cat.adopt(Photo(str(tmp_path / "b" / "base" / "x.jpg"), "jpeg"), b"same".hex(), 4, 1) == (first, "moved")
    assert cat.written(first) == "pick" and cat.written(second) == "alternate"


def test_a_photo_moved_over_another_ones_path_no_longer_counts_the_sidecar_there_as_its_own(tmp_path):
    cat = Catalog(tmp_path / "c.db")
    pid = _photo(cat, tmp_path / "x.jpg", b"mine")
    other = _photo(cat, tmp_path / "y.jpg", b"other")
    (tmp_path / "x.jpg").replace(tmp_path / "y.jpg")  # y.jpg.xmp, if any, is the other photo's
    assert cat.adopt(Photo(str(tmp_path / "y.jpg"), "jpeg"), b"mine".hex(), 4, 1) == (pid, "moved")
    assert cat.written(pid) is None and cat.counts()["photos"] == 1 and cat.verdict(other) is None


def test_rows_of_deleted_files_are_marked_missing_or_pruned_where_a_copy_lives_on(tmp_path):
    import shutil

    cat = Catalog(tmp_path / "c.db")
    kept = _photo(cat, tmp_path / "shoot" / "a.jpg", b"a")
    unique = [_photo(cat, tmp_path / "shoot" / f"{n}.jpg", n.encode()) for n in "bcd"]
    copy = _photo(cat, tmp_path / "backup" / "b.jpg", b"b")  # b.jpg lives on in backup/
    near = _photo(cat, tmp_path / "shoot_2" / "e.jpg", b"e")  # a folder whose name starts like the deleted one's
    lone = _photo(cat, tmp_path / "lone.jpg", b"lone")
    shutil.rmtree(tmp_path / "shoot")
    (tmp_path / "lone.jpg").unlink()
    # one gone file of a gone folder is enough to mark the whole folder
    assert cat.check_files([unique[1], kept, lone, copy]) == {unique[1], kept, lone}
    assert cat.photo_row(str(tmp_path / "shoot" / "b.jpg")) is None  # pruned: backup/b.jpg holds its content
    assert cat.missing_ids() == {kept, unique[1], unique[2], lone}  # marked: a later cull may find them moved
    assert cat.photo_row(str(tmp_path / "shoot_2" / "e.jpg"))["id"] == near
    (tmp_path / "moved").mkdir()
    (tmp_path / "moved" / "a.jpg").write_bytes(b"a")
    assert cat.adopt(Photo(str(tmp_path / "moved" / "a.jpg"), "jpeg"), b"a".hex(), 1, 1) == (kept, "moved")
    assert kept not in cat.missing_ids()


def test_a_folder_of_many_identical_copies_is_adopted_without_looking_at_every_earlier_copy_again(tmp_path,
                                                                                                 monkeypatch):
    """2,000 identical frames (a card copied twice, a stuck burst): each copy found the earlier ones by content
    and checked every one's file again, so a cull of 2,000 took minutes in the catalog alone. Each copy still
    gets its own row (copied, not moved), and the files are looked at about once each."""
    import os

    cat = Catalog(tmp_path / "c.db")
    n = 400
    _photo(cat, tmp_path / "IMG_0000.jpg", b"same frame")
    copies = []
    for i in range(1, n):
        (tmp_path / f"IMG_{i:04d}.jpg").write_bytes(b"same frame")
        copies.append(Photo(str(tmp_path / f"IMG_{i:04d}.jpg"), "jpeg"))
    looked = []
    real_exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: looked.append(p) or real_exists(p))
    adopted = [cat.adopt(p, b"same frame".hex(), 10, 1) for p in copies]
    assert all(how == "copied" for _, how in adopted) and len({pid for pid, _ in adopted}) == n - 1
    assert len(looked) < 3 * n  # it was n * n / 2: every earlier copy, for each new one
