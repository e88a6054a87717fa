"""The SQLite catalog: schema migrations, WAL, findings and verdicts round-trip."""

import numpy as np

from keepers.core.catalog import MIGRATIONS, Catalog
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
