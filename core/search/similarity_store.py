"""The index's side in the catalog file: sqlite-vec loaded into the catalog's connection, the vec0 table with
each photo's code and reduced vector, the triggers that tell the index what changed, the fitted basis kept
beside it, and `sync`, which brings the table and the index in memory up to date."""

from __future__ import annotations

import contextlib

import numpy as np

from keepers.core.search.similarity_index import BITS, DIMS, MODEL, REFIT_GROWTH, TAGS, Index

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS similarity_meta (key TEXT PRIMARY KEY, value BLOB);
CREATE VIRTUAL TABLE IF NOT EXISTS vec_embedding USING vec0(photo_id INTEGER PRIMARY KEY, code bit[{BITS}],
    reduced float[{DIMS}]);
-- plain triggers (no extension needed), so every writer of the catalog tells the index what changed
CREATE TABLE IF NOT EXISTS similarity_dirty (photo_id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS similarity_generation (id INTEGER PRIMARY KEY CHECK (id = 0), n INTEGER NOT NULL);
INSERT OR IGNORE INTO similarity_generation VALUES (0, 0);
CREATE TRIGGER IF NOT EXISTS similarity_embedding_added AFTER INSERT ON embeddings WHEN NEW.model = '{MODEL}'
BEGIN INSERT OR IGNORE INTO similarity_dirty VALUES (NEW.photo_id); UPDATE similarity_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS similarity_embedding_removed AFTER DELETE ON embeddings WHEN OLD.model = '{MODEL}'
BEGIN INSERT OR IGNORE INTO similarity_dirty VALUES (OLD.photo_id); UPDATE similarity_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS similarity_tags_added AFTER INSERT ON findings WHEN NEW.analyzer = '{TAGS}'
BEGIN UPDATE similarity_generation SET n = n + 1; END;
CREATE TRIGGER IF NOT EXISTS similarity_tags_removed AFTER DELETE ON findings WHEN OLD.analyzer = '{TAGS}'
BEGIN UPDATE similarity_generation SET n = n + 1; END;
-- a photo found missing leaves the index (and one found again comes back): search never returns a gone file
CREATE TRIGGER IF NOT EXISTS similarity_photo_missing AFTER UPDATE OF missing_since ON photos
WHEN OLD.missing_since IS NOT NEW.missing_since
BEGIN INSERT OR IGNORE INTO similarity_dirty VALUES (NEW.id); UPDATE similarity_generation SET n = n + 1; END;
"""


def _connect(catalog) -> None:
    """Load sqlite-vec into the catalog's connection and create the index tables (once per connection)."""
    if catalog.__dict__.get("_vec_ready"):
        return
    import sqlite_vec

    with catalog._lock:
        catalog.db.enable_load_extension(True)
        sqlite_vec.load(catalog.db)
        catalog.db.enable_load_extension(False)
        with catalog.db:
            catalog.db.executescript(SCHEMA)
    catalog.__dict__["_vec_ready"] = True


def _meta(catalog, key: str, value: bytes | None = None):
    if value is not None:
        catalog.db.execute("INSERT OR REPLACE INTO similarity_meta VALUES (?, ?)", (key, value))
        return value
    row = catalog.db.execute("SELECT value FROM similarity_meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else row[0]


def _vectors(catalog, ids: list[int]) -> dict[int, np.ndarray]:
    out = {}
    with getattr(catalog, "_lock", None) or contextlib.nullcontext():  # one connection shared by threads
        for s in range(0, len(ids), 900):  # SQLite caps bound parameters
            part = ids[s : s + 900]
            rows = catalog.db.execute(f"SELECT photo_id, vector FROM embeddings WHERE model = ? AND photo_id IN "
                                      f"({','.join('?' * len(part))})", (MODEL, *part))
            out.update({r[0]: np.frombuffer(r[1], np.float32) for r in rows})
    return out


def _generation(catalog) -> int:
    return catalog.db.execute("SELECT n FROM similarity_generation").fetchone()[0]


def sync(catalog) -> Index:
    """Bring the vec0 table up to date with the catalog's embeddings, and return the index in memory."""
    _connect(catalog)
    with catalog._lock:
        cached = catalog.__dict__.get("_vec_index")
        if cached is not None and cached[0] == _generation(catalog):
            return cached[1]
        with catalog.db:
            index = _update(catalog)
        catalog.__dict__["_vec_index"] = (_generation(catalog), index)
        return index


def _update(catalog) -> Index:
    db = catalog.db
    count = db.execute("SELECT count(*) FROM embeddings WHERE model = ?", (MODEL,)).fetchone()[0]
    fitted = _meta(catalog, "fitted_count")
    if count and (fitted is None or count >= REFIT_GROWTH * int(fitted)):
        vecs = np.stack([np.frombuffer(r[0], np.float32) for r in
                         db.execute("SELECT vector FROM embeddings WHERE model = ?", (MODEL,))])
        index = Index.fit(vecs)
        _meta(catalog, "mean", index.mean.tobytes())
        _meta(catalog, "basis", index.basis.tobytes())
        _meta(catalog, "fitted_count", str(count).encode())
        db.execute("DELETE FROM vec_embedding")
        db.execute("DELETE FROM similarity_dirty")
        todo = [r[0] for r in db.execute("SELECT photo_id FROM embeddings WHERE model = ?", (MODEL,))]
    elif fitted is None:
        return Index(np.zeros(1280, np.float32), np.zeros((1280, DIMS), np.float32))
    else:
        index = Index(np.frombuffer(_meta(catalog, "mean"), np.float32),
                      np.frombuffer(_meta(catalog, "basis"), np.float32).reshape(-1, DIMS))
        todo = [r[0] for r in db.execute("SELECT photo_id FROM similarity_dirty")]
        db.execute("DELETE FROM similarity_dirty")
        for s in range(0, len(todo), 900):
            part = todo[s : s + 900]
            db.execute(f"DELETE FROM vec_embedding WHERE photo_id IN ({','.join('?' * len(part))})", part)
    vecs = _vectors(catalog, todo)  # photos whose embedding was removed are simply not found here
    gone = catalog.missing_ids()
    fresh = [p for p in todo if p in vecs and p not in gone]
    if fresh:
        codes, reduced = index.encode(np.stack([vecs[p] for p in fresh]))
        db.executemany("INSERT INTO vec_embedding(photo_id, code, reduced) VALUES (?, vec_bit(?), ?)",
                       [(p, codes[i].tobytes(), reduced[i].tobytes()) for i, p in enumerate(fresh)])
    rows = db.execute("SELECT photo_id, code, reduced FROM vec_embedding").fetchall()
    if rows:
        index.add(np.array([r[0] for r in rows]), np.frombuffer(b"".join(r[1] for r in rows), np.uint8)
                  .reshape(len(rows), -1), np.frombuffer(b"".join(r[2] for r in rows), np.float32).reshape(len(rows), -1))
    return index


def _present(catalog, rank, check_files: bool) -> list[tuple[int, float]]:
    """rank() again until none of its hits is a file found gone (each round marks those it found: it ends)."""
    while True:
        hits = rank()
        if not check_files or not catalog.check_files([i for i, _ in hits]):
            return hits
