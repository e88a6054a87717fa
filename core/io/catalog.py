"""The catalog: SQLite (WAL) with one row per photo, keyed by path and content hash, and every analyzer's
findings stored with that analyzer's version, so a re-run analyses only what changed.

SQLite comes from `pysqlite3` when installed: many Pythons' stdlib `sqlite3` cannot load extensions, and the
similarity index needs the sqlite-vec extension (../shared/research/performance.md).
"""

from __future__ import annotations

import json
import os
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import numpy as np

try:
    import pysqlite3.dbapi2 as sqlite3  # can load extensions
except ImportError:  # pragma: no cover - other platforms
    import sqlite3

from keepers.core.types import Finding, Meta, Photo, Reason, Verdict

# each entry upgrades the schema by one version; never edit a released entry, append a new one
MIGRATIONS: list[str] = [
    """
    CREATE TABLE photos (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,
        content_hash TEXT NOT NULL,
        size INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        kind TEXT NOT NULL,
        companions TEXT NOT NULL DEFAULT '[]',
        meta TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        analyzed_at TEXT
    );
    CREATE INDEX photos_hash ON photos(content_hash);
    CREATE TABLE findings (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        analyzer TEXT NOT NULL,
        version TEXT NOT NULL,
        score REAL,
        weight REAL NOT NULL,
        reasons TEXT NOT NULL,
        features TEXT NOT NULL,
        data TEXT NOT NULL,
        keywords TEXT NOT NULL,
        PRIMARY KEY (photo_id, analyzer)
    );
    CREATE TABLE embeddings (
        photo_id INTEGER NOT NULL REFERENCES photos(id) ON DELETE CASCADE,
        model TEXT NOT NULL,
        vector BLOB NOT NULL,
        PRIMARY KEY (photo_id, model)
    );
    CREATE TABLE verdicts (
        photo_id INTEGER PRIMARY KEY REFERENCES photos(id) ON DELETE CASCADE,
        score REAL NOT NULL,
        verdict TEXT NOT NULL,
        confidence REAL NOT NULL,
        stars INTEGER NOT NULL,
        reasons TEXT NOT NULL,
        keywords TEXT NOT NULL,
        grp TEXT,
        pick INTEGER NOT NULL DEFAULT 0,
        judged_by TEXT NOT NULL,
        written TEXT,            -- fingerprint of what was last written to the sidecars
        decided_at TEXT NOT NULL
    );
    """,
    # a row whose file is gone is marked (kept: a later cull of the moved photo finds its findings by hash) and
    # never returned by search; sizes are indexed so a new file is hashed only when a known file has its size
    """
    ALTER TABLE photos ADD COLUMN missing_since TEXT;
    CREATE INDEX photos_size ON photos(size);
    """,
]

# errors that say what the file's content is: remembered with the file's size and mtime and not retried until the
# file changes (a permission problem, a lack of memory or a pixel limit in the settings can pass, so those are)
LASTING_ERRORS = ("file is truncated", "file is empty", "not a recognised image format", "RAW file has no embedded")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def dumps(value: Any) -> str:
    return json.dumps(_jsonable(value), ensure_ascii=False, separators=(",", ":"))


def verdict_of(r) -> Verdict:
    """A row holding the verdicts table's columns as the judgement it stores."""
    return Verdict(score=r["score"], verdict=r["verdict"], confidence=r["confidence"], stars=r["stars"],
                   reasons=_reasons(r["reasons"]), keywords=json.loads(r["keywords"]), group=r["grp"],
                   pick=bool(r["pick"]), judged_by=r["judged_by"])


def _reasons(text: str) -> list[Reason]:
    return [Reason(**r) for r in json.loads(text)]


class Catalog:
    """One SQLite file; safe to share between threads (one connection, serialised by a lock)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._seen: dict[str, float] = {}  # path -> when its file was last seen present (row_by_hash)
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: a crash loses at most the last commits
        self.db.execute("PRAGMA foreign_keys=ON")
        self.migrate()

    def migrate(self) -> None:
        with self._lock:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            for i, script in enumerate(MIGRATIONS[version:], start=version + 1):
                with self.db:
                    self.db.executescript(f"BEGIN; {script}; PRAGMA user_version = {i}; COMMIT;")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        self.db.close()

    # --- photos -----------------------------------------------------------------------------------------------

    def photo_row(self, path: str):
        with self._lock:
            return self.db.execute("SELECT * FROM photos WHERE path = ?", (path,)).fetchone()

    def row_by_hash(self, content_hash: str, exclude_path: str | None = None, *, errors: bool = False):
        """The row holding this content under another path than `exclude_path`: one whose file is gone first (the
        photo moved, and its row should follow it), else the newest (the photo was copied). Of several (identical
        files in one folder), the one whose path ends most like `exclude_path` (same folder and file names): their
        rows, and what their sidecars hold, must not be swapped. `errors`: a file whose content could not be read
        counts too (LASTING_ERRORS).

        A folder of 2,000 identical frames asks this once per frame, each time of every copy catalogued before it:
        each copy's path is compared only where its file name is the new one's, and a file seen present in the last
        PRESENT_FOR seconds is not stat'ed again (1,000 copies took 47 s here, 2,000 about four times that)."""
        with self._lock:
            rows = self.db.execute(
                "SELECT id, path, error FROM photos WHERE content_hash = ? AND path IS NOT ? AND "
                "((error IS NULL AND analyzed_at IS NOT NULL) OR (? AND error IS NOT NULL)) ORDER BY id DESC",
                (content_hash, exclude_path, errors)).fetchall()
        rows = [r for r in rows if r[2] is None or r[2].startswith(LASTING_ERRORS)]
        if not rows:
            return None
        seen, fresh = self._seen, time.monotonic() - self.PRESENT_FOR
        gone = [r for r in rows if seen.get(r[1], -1e9) < fresh and not self._present(r[1])]
        rows = gone or rows
        name = os.path.basename(exclude_path or "")
        same = [r for r in rows if r[1].endswith(os.sep + name)] if name else []
        if same:  # its folder's names, compared from the end
            tail = Path(exclude_path).parts[::-1]

            def alike(r) -> int:  # how many trailing path parts it shares with the new path
                parts = Path(r[1]).parts[::-1]
                return next((i for i, (a, b) in enumerate(zip(parts, tail)) if a != b), min(len(tail), len(parts)))

            pick = max(same, key=lambda r: (alike(r), r[0]))
        else:
            pick = rows[0]  # the newest: the rows come newest first
        with self._lock:
            return self.db.execute("SELECT * FROM photos WHERE id = ?", (pick[0],)).fetchone()

    # seconds a file seen present counts as present without a new stat: a file moved away within that minute is
    # taken for copied (its row stays, the new path gets a copy of its findings; the old row is pruned once missing)
    PRESENT_FOR = 60.0

    def _present(self, path: str) -> bool:
        now = time.monotonic()
        if now - self._seen.get(path, -1e9) < self.PRESENT_FOR:
            return True
        if not os.path.exists(path):
            return False
        if len(self._seen) > 100_000:
            self._seen.clear()  # a long-running daemon's memory stays bounded
        self._seen[path] = now
        return True

    def known_size(self, size: int) -> bool:
        """Whether a catalogued file has this size: only then can a new path hold a known photo, so only then is
        it worth hashing the file before analysing it."""
        with self._lock:
            return self.db.execute("SELECT 1 FROM photos WHERE size = ? LIMIT 1", (size,)).fetchone() is not None

    def adopt(self, photo: Photo, content_hash: str, size: int, mtime_ns: int) -> tuple[int, str] | None:
        """A photo at a path the catalog does not know it under, with content it does know: (photo id, "moved")
        when the file it was catalogued as is gone (its row, findings, verdict and the record of what its sidecars
        hold follow it here: sidecars travel with their photos), (photo id, "copied") when that file is still
        there (a new row with a copy of its findings, or of its lasting error). None: content never seen."""
        with self._lock:
            src = self.row_by_hash(content_hash, exclude_path=photo.path, errors=True)
            if src is None:
                return None
            if not os.path.exists(src["path"]):
                self.touch(src["id"], photo.path, size, mtime_ns)
                return src["id"], "moved"
            if src["error"] is not None:
                return self.save(photo, content_hash=content_hash, size=size, mtime_ns=mtime_ns, meta=None,
                                 findings=None, error=src["error"]), "copied"
            return self.copy_findings(src["id"], photo, content_hash, size, mtime_ns), "copied"

    def analyzer_versions(self, photo_id: int) -> dict[str, str]:
        with self._lock:
            rows = self.db.execute("SELECT analyzer, version FROM findings WHERE photo_id = ?", (photo_id,))
            return {r["analyzer"]: r["version"] for r in rows}

    def save(self, photo: Photo, *, content_hash: str, size: int, mtime_ns: int, meta: Meta | None,
             findings: list[Finding] | None, error: str | None) -> int:
        """Store one photo's analysis (or its error) in one transaction; returns the photo id."""
        with self._lock, self.db:
            self.db.execute(
                "INSERT INTO photos (path, content_hash, size, mtime_ns, kind, companions, meta, error, analyzed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET content_hash=excluded.content_hash, "
                "size=excluded.size, mtime_ns=excluded.mtime_ns, kind=excluded.kind, companions=excluded.companions, "
                "meta=excluded.meta, error=excluded.error, analyzed_at=excluded.analyzed_at, missing_since=NULL",
                (photo.path, content_hash, size, mtime_ns, photo.kind, dumps(photo.companions),
                 dumps(meta.as_dict() if meta else {}), error, None if error else _now()))
            pid = self.db.execute("SELECT id FROM photos WHERE path = ?", (photo.path,)).fetchone()[0]
            self.db.execute("DELETE FROM findings WHERE photo_id = ?", (pid,))
            if error:
                self.db.execute("DELETE FROM verdicts WHERE photo_id = ?", (pid,))
            for f in findings or []:
                data = dict(f.data)
                emb = data.pop("embedding", None)
                if emb is not None:
                    self.db.execute("INSERT OR REPLACE INTO embeddings VALUES (?, ?, ?)",
                                    (pid, f.analyzer, np.asarray(emb, np.float32).tobytes()))
                self.db.execute(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (pid, f.analyzer, f.version, f.score, f.weight, dumps([r.as_dict() for r in f.reasons]),
                     dumps(f.features), dumps(data), dumps(f.keywords)))
            return pid

    def touch(self, photo_id: int, path: str, size: int, mtime_ns: int, content_hash: str | None = None) -> None:
        """The photo's content is unchanged (same hash): record its path and stat now, without analysing it.
        `content_hash`: the file's new hash where only its metadata changed (Keepers wrote its XMP: --embed); what
        the loader read of its XMP (meta's rating and xmp) is then forgotten, so a writer reads the file again."""
        with self._lock, self.db:
            stale = self.db.execute("SELECT id FROM photos WHERE path = ? AND id != ?", (path, photo_id)).fetchone()
            if stale is not None:
                # another photo was catalogued at this path (its file was replaced): its row goes, and a sidecar
                # found here may be the other photo's, so it no longer counts as holding this one's verdict
                self.db.execute("DELETE FROM photos WHERE id = ?", (stale[0],))
                self.db.execute("UPDATE verdicts SET written = NULL WHERE photo_id = ?", (photo_id,))
            self.db.execute("UPDATE photos SET path = ?, size = ?, mtime_ns = ?, missing_since = NULL, "
                            "content_hash = COALESCE(?, content_hash) WHERE id = ?",
                            (path, size, mtime_ns, content_hash, photo_id))
            if content_hash is not None:
                self.db.execute("UPDATE photos SET meta = json_remove(meta, '$.rating', '$.xmp') WHERE id = ? "
                                "AND json_valid(meta)", (photo_id,))

    def copy_findings(self, src_id: int, photo: Photo, content_hash: str, size: int, mtime_ns: int) -> int:
        """Same content under a new path while the original is still there (a copy): a row of its own with the
        stored analysis, so the copy is judged and its sidecars written without decoding it again."""
        with self._lock:
            src = self.db.execute("SELECT meta FROM photos WHERE id = ?", (src_id,)).fetchone()
            findings = self.findings(src_id)
            meta = Meta(**json.loads(src["meta"]))
            return self.save(photo, content_hash=content_hash, size=size, mtime_ns=mtime_ns, meta=meta,
                             findings=findings, error=None)

    def findings(self, photo_id: int) -> list[Finding]:
        with self._lock:
            rows = self.db.execute("SELECT * FROM findings WHERE photo_id = ? ORDER BY analyzer", (photo_id,)).fetchall()
            embs = {r["model"]: np.frombuffer(r["vector"], np.float32) for r in
                    self.db.execute("SELECT model, vector FROM embeddings WHERE photo_id = ?", (photo_id,))}
        out = []
        for r in rows:
            data = json.loads(r["data"])
            if r["analyzer"] in embs:
                data["embedding"] = embs[r["analyzer"]]
            out.append(Finding(analyzer=r["analyzer"], version=r["version"], score=r["score"], weight=r["weight"],
                               reasons=_reasons(r["reasons"]), features=json.loads(r["features"]), data=data,
                               keywords=json.loads(r["keywords"])))
        return out

    def meta(self, photo_id: int) -> Meta:
        row = self.db.execute("SELECT meta FROM photos WHERE id = ?", (photo_id,)).fetchone()
        return Meta(**json.loads(row["meta"]))

    # --- verdicts ---------------------------------------------------------------------------------------------

    def save_verdict(self, photo_id: int, v: Verdict, written: str | None = None) -> None:
        with self._lock, self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
                "COALESCE(?, (SELECT written FROM verdicts WHERE photo_id = ?)), ?)",
                (photo_id, v.score, v.verdict, v.confidence, v.stars, dumps([r.as_dict() for r in v.reasons]),
                 dumps(v.keywords), v.group, int(v.pick), v.judged_by, written, photo_id, _now()))

    def mark_written(self, photo_id: int, fingerprint: str) -> None:
        with self._lock, self.db:
            self.db.execute("UPDATE verdicts SET written = ? WHERE photo_id = ?", (fingerprint, photo_id))

    def written(self, photo_id: int) -> str | None:
        row = self.db.execute("SELECT written FROM verdicts WHERE photo_id = ?", (photo_id,)).fetchone()
        return row["written"] if row else None

    def verdict(self, photo_id: int) -> Verdict | None:
        r = self.db.execute("SELECT * FROM verdicts WHERE photo_id = ?", (photo_id,)).fetchone()
        return None if r is None else verdict_of(r)

    def move(self, old: str, new: str) -> None:
        """A file Keepers moved (`sort --move`, its undo): its row follows it."""
        with self._lock:
            row = self.photo_row(old)
            if row is not None:
                self.touch(row["id"], new, row["size"], row["mtime_ns"])

    def forget(self, path: str) -> None:
        """A file Keepers removed (a copy or link taken back by `sort --undo`): its row goes too."""
        with self._lock, self.db:
            self.db.execute("DELETE FROM photos WHERE path = ?", (path,))

    def missing_ids(self) -> set[int]:
        """Photos whose files were found gone: search and similar never return them."""
        with self._lock:
            return {r[0] for r in self.db.execute("SELECT id FROM photos WHERE missing_since IS NOT NULL")}

    def check_files(self, ids: Iterable[int]) -> set[int]:
        """Of these photo ids, those whose files are gone, now marked missing. A row whose content another present
        row still holds is pruned instead (nothing of it is lost); the others stay, marked, so a later cull of the
        moved photo finds its analysis by hash. A gone folder marks all its rows at once (a deleted shoot)."""
        ids = list(ids)
        if not ids:
            return set()
        with self._lock:
            rows = self.db.execute(f"SELECT id, path FROM photos WHERE id IN ({','.join('?' * len(ids))})",
                                   ids).fetchall()
        gone = [r for r in rows if not os.path.exists(r["path"])]
        folders = {os.path.dirname(r["path"]) for r in gone}
        with self._lock, self.db:
            for folder in folders:
                if not os.path.isdir(folder):  # an exact prefix (LIKE ignores case): /a/b must not take /a/B's rows
                    prefix = folder.rstrip(os.sep) + os.sep
                    self._mark(self.db.execute("SELECT id FROM photos WHERE substr(path, 1, ?) = ? AND "
                                               "missing_since IS NULL", (len(prefix), prefix)).fetchall())
            self._mark([(r["id"],) for r in gone])
        return {r["id"] for r in gone}

    def check_folder(self, folder: str) -> set[int]:
        """check_files() for the rows of the photos directly in `folder` (a cull passing through it)."""
        prefix = folder.rstrip(os.sep) + os.sep
        with self._lock:
            rows = self.db.execute("SELECT id, path FROM photos WHERE substr(path, 1, ?) = ? AND missing_since IS NULL",
                                   (len(prefix), prefix)).fetchall()
        return self.check_files([r["id"] for r in rows if os.sep not in r["path"][len(prefix):]])

    def _mark(self, rows) -> None:
        now = _now()
        for (pid,) in rows:
            self.db.execute("UPDATE photos SET missing_since = COALESCE(missing_since, ?) WHERE id = ?", (now, pid))
        # pruned: rows gone whose content is still catalogued at a present path
        self.db.execute("DELETE FROM photos WHERE missing_since IS NOT NULL AND EXISTS (SELECT 1 FROM photos p "
                        "WHERE p.content_hash = photos.content_hash AND p.missing_since IS NULL AND p.id != photos.id "
                        "AND p.error IS NULL AND p.analyzed_at IS NOT NULL)")

    def counts(self) -> dict[str, int]:
        return {t: self.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                for t in ("photos", "findings", "verdicts", "embeddings")}

    def embeddings(self, model: str, photo_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        rows = self.db.execute("SELECT photo_id, vector FROM embeddings WHERE model = ?", (model,))
        wanted = set(photo_ids) if photo_ids is not None else None
        return {r[0]: np.frombuffer(r[1], np.float32) for r in rows if wanted is None or r[0] in wanted}
