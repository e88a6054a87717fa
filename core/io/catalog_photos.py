"""A photo's row and what is stored of its analysis: the photos row (photo_row), each analyzer's findings with
their versions (save, findings, analyzer_versions, meta), the embedding vectors kept apart from the findings' JSON
(embeddings), a row moved to a new path or stat (touch) and the stored analysis copied to a new path
(copy_findings). A part of Catalog (catalog.py): the methods use its connection and lock (self.db, self._lock).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterable

import numpy as np

from keepers.core.io.catalog_schema import dumps, reasons_of, utc_now
from keepers.core.types import Finding, Meta, Photo


class PhotoRows:
    """Catalog's photos, findings and embeddings tables (a mixin: Catalog opens the connection)."""

    def photo_row(self, path: str):
        with self._lock:
            return self.db.execute("SELECT * FROM photos WHERE path = ?", (path,)).fetchone()

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
                 dumps(meta.as_dict() if meta else {}), error, None if error else utc_now()))
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
                # reasons whole (not `as_dict`, rounded for people): a second run judges from these, and from
                # rounded severities a frame came back a hundredth apart from the first run (3.38 -> 3.39)
                self.db.execute(
                    "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (pid, f.analyzer, f.version, f.score, f.weight, dumps([asdict(r) for r in f.reasons]),
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
                               reasons=reasons_of(r["reasons"]), features=json.loads(r["features"]), data=data,
                               keywords=json.loads(r["keywords"])))
        return out

    def meta(self, photo_id: int) -> Meta:
        row = self.db.execute("SELECT meta FROM photos WHERE id = ?", (photo_id,)).fetchone()
        return Meta(**json.loads(row["meta"]))

    def embeddings(self, model: str, photo_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
        rows = self.db.execute("SELECT photo_id, vector FROM embeddings WHERE model = ?", (model,))
        wanted = set(photo_ids) if photo_ids is not None else None
        return {r[0]: np.frombuffer(r[1], np.float32) for r in rows if wanted is None or r[0] in wanted}
