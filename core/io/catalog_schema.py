"""What the catalog stores, and in what form: the schema (MIGRATIONS, one entry per version), the errors that are
remembered rather than retried (LASTING_ERRORS), a value as the JSON text of a column (dumps) and a stored verdict
or reason list read back (verdict_of, reasons_of). Everything here is plain data and functions: the Catalog class
(catalog.py) and its parts (catalog_photos.py, catalog_twins.py, catalog_gone.py) all write and read through it, so
a column's form is decided in one place.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import numpy as np

from keepers.core.types import Reason, Verdict

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


def utc_now() -> str:
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
                   reasons=reasons_of(r["reasons"]), keywords=json.loads(r["keywords"]), group=r["grp"],
                   pick=bool(r["pick"]), judged_by=r["judged_by"])


def reasons_of(text: str) -> list[Reason]:
    return [Reason(**r) for r in json.loads(text)]
