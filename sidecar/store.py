"""The daemon's SQLite file: applications, API keys (hashed) with usage, workflows, per-application model settings,
concepts, batch jobs (a job's results one row per photo, so a 10,000-photo job is read a page at a time), the
watched-folder queue, the photographer's own signals (picks, rejects, stars, labels, keywords sent by a host
plug-in, for learning their taste) and which application owns each taste profile made through the API (the
profiles themselves are files beside the catalog: keepers.core.taste.store). Kept apart from the catalog, which
holds photos only."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS applications (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, roots TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS keys (
    id INTEGER PRIMARY KEY, app_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    prefix TEXT NOT NULL, hash TEXT NOT NULL UNIQUE, scopes TEXT NOT NULL, note TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL, revoked_at TEXT, last_used_at TEXT,
    requests INTEGER NOT NULL DEFAULT 0, operations INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS workflows (
    app_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE, name TEXT NOT NULL,
    models TEXT NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (app_id, name));
CREATE TABLE IF NOT EXISTS model_settings (
    app_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE, model TEXT NOT NULL,
    weight REAL, enabled INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (app_id, model));
CREATE TABLE IF NOT EXISTS concepts (
    app_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE, name TEXT NOT NULL,
    model TEXT NOT NULL, centroid BLOB NOT NULL, threshold REAL NOT NULL, examples TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (app_id, name));
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, app_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    key_id INTEGER, paths TEXT NOT NULL, write INTEGER NOT NULL, state TEXT NOT NULL,
    total INTEGER NOT NULL DEFAULT 0, done INTEGER NOT NULL DEFAULT 0, errors INTEGER NOT NULL DEFAULT 0,
    error TEXT, results TEXT, created_at TEXT NOT NULL, finished_at TEXT);
CREATE TABLE IF NOT EXISTS watch_queue (
    path TEXT NOT NULL, mtime_ns INTEGER NOT NULL, size INTEGER NOT NULL, state TEXT NOT NULL,
    error TEXT, queued_at TEXT NOT NULL, finished_at TEXT, PRIMARY KEY (path, mtime_ns));
CREATE INDEX IF NOT EXISTS watch_state ON watch_queue(state);
CREATE TABLE IF NOT EXISTS job_results (
    job_id TEXT NOT NULL REFERENCES jobs(id) ON DELETE CASCADE, seq INTEGER NOT NULL, record TEXT NOT NULL,
    PRIMARY KEY (job_id, seq));
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY, app_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    path TEXT NOT NULL, photo_id INTEGER, kind TEXT NOT NULL, value TEXT NOT NULL, source TEXT NOT NULL,
    time TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS signals_photo ON signals(app_id, path, source);
CREATE TABLE IF NOT EXISTS taste_profiles (
    name TEXT PRIMARY KEY, app_id INTEGER NOT NULL REFERENCES applications(id) ON DELETE CASCADE,
    follow_signals INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, trained_at TEXT, error TEXT,
    created_at TEXT NOT NULL);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Store:
    """One connection shared by the daemon's threads, serialised by a lock (writes are small and rare)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # the watch queue must survive a crash exactly as committed
        self.db.execute("PRAGMA foreign_keys=ON")
        self.db.executescript(SCHEMA)
        if not any(r[1] == "taste" for r in self.db.execute("PRAGMA table_info(jobs)")):  # a store from before
            self.db.execute("ALTER TABLE jobs ADD COLUMN taste TEXT")  # a job's taste profile (null: none)
        # key hashes and library roots are nobody else's business. On Windows chmod only sets or clears the
        # read-only flag (0o600 leaves the file writable); the file inherits its folder's ACL, the user's profile
        os.chmod(self.path, 0o600)

    def close(self) -> None:
        self.db.close()

    def all(self, sql: str, args=()) -> list[sqlite3.Row]:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def one(self, sql: str, args=()) -> sqlite3.Row | None:
        with self._lock:
            return self.db.execute(sql, args).fetchone()

    def run(self, sql: str, args=()) -> int:
        """Execute one statement in its own transaction; returns the new row id (for INSERT) or rows changed."""
        with self._lock:
            cur = self.db.execute(sql, args)
            return cur.lastrowid if sql.lstrip().upper().startswith("INSERT") else cur.rowcount

    def many(self, sql: str, rows) -> None:
        self.batch([(sql, rows)])

    def batch(self, statements: list[tuple[str, list]]) -> None:
        """Each (sql, rows) executed for all its rows, all in one transaction."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for sql, rows in statements:
                    self.db.executemany(sql, rows)
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise

    # --- applications -----------------------------------------------------------------------------------------

    def create_app(self, name: str, roots: list[str]) -> int:
        return self.run("INSERT INTO applications (name, roots, created_at) VALUES (?, ?, ?)",
                        (name, json.dumps([os.path.abspath(r) for r in roots]), now()))

    def app(self, name: str | None = None, app_id: int | None = None) -> dict | None:
        row = (self.one("SELECT * FROM applications WHERE name = ?", (name,)) if name is not None
               else self.one("SELECT * FROM applications WHERE id = ?", (app_id,)))
        return None if row is None else {"id": row["id"], "name": row["name"], "roots": json.loads(row["roots"]),
                                         "created_at": row["created_at"]}

    def apps(self) -> list[dict]:
        return [self.app(app_id=r["id"]) for r in self.all("SELECT id FROM applications ORDER BY id")]

    # --- watched-folder queue ---------------------------------------------------------------------------------

    def enqueue(self, items: list[tuple[str, int, int]]) -> None:
        """(path, mtime_ns, size) of files seen complete; a version already queued or done is left as it is."""
        t = now()
        self.many("INSERT OR IGNORE INTO watch_queue (path, mtime_ns, size, state, queued_at) VALUES (?, ?, ?, "
                  "'queued', ?)", [(p, m, s, t) for p, m, s in items])

    def claim(self, limit: int) -> list[sqlite3.Row]:
        with self._lock:
            rows = self.all("SELECT path, mtime_ns FROM watch_queue WHERE state = 'queued' ORDER BY queued_at, path "
                            "LIMIT ?", (limit,))
            self.many("UPDATE watch_queue SET state = 'running' WHERE path = ? AND mtime_ns = ?",
                      [(r["path"], r["mtime_ns"]) for r in rows])
            return rows

    def finish(self, items: list[tuple[str, int, str, str | None]]) -> None:
        """(path, mtime_ns, state, error) for each processed file, in one transaction."""
        t = now()
        self.many("UPDATE watch_queue SET state = ?, error = ?, finished_at = ? WHERE path = ? AND mtime_ns = ?",
                  [(s, e, t, p, m) for p, m, s, e in items])

    def requeue_running(self) -> int:
        """After a crash: what was being processed goes back to the queue (the catalog skips finished work)."""
        return self.run("UPDATE watch_queue SET state = 'queued' WHERE state = 'running'")

    def known(self, path: str, mtime_ns: int) -> bool:
        return self.one("SELECT 1 FROM watch_queue WHERE path = ? AND mtime_ns = ?", (path, mtime_ns)) is not None

    def queue_counts(self) -> dict[str, int]:
        return {r["state"]: r["n"] for r in self.all("SELECT state, count(*) AS n FROM watch_queue GROUP BY state")}
