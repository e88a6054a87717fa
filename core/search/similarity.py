"""Find photos by photo (`similar`) or by words (`search_text`), over what the catalog stores.

Image index: the catalog's EfficientNet embeddings are reduced to 128 dimensions (PCA fitted on the catalog
itself, refitted when it has grown 4x) and hashed to 512 bits (signs of a fixed random projection); both live in
a sqlite-vec `vec0` table inside the catalog file. A query ranks every photo by Hamming distance (numpy popcount:
sqlite-vec's own scan of 100 k bit vectors took 30-80 ms here), re-ranks the best SHORTLIST by the reduced
vectors and the best RERANK by the full embeddings, so distances are exact cosine distances.

Text search is ConSE (Norouzi et al., 2014): a photo's vector in MiniLM space is its top ImageNet and texture
probabilities (stored by the `tags` analyzer) weighting the MiniLM embeddings of the class names with their
keywords and of the texture terms.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from typing import Iterable

import numpy as np

from keepers.core.errors import UserError

MODEL = "embedding"  # embeddings.model key: the analyzer that stores the vectors
TAGS = "tags"  # the analyzer whose data["top"] holds [wnid, probability] pairs
BITS, DIMS = 512, 128
SHORTLIST, RERANK = 1000, 50
REFIT_GROWTH = 4
SEED = 0
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


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class Index:
    """The searchable form of N embeddings: ids, 512-bit codes, 128-d reduced vectors, and the fitted basis."""

    def __init__(self, mean: np.ndarray, basis: np.ndarray):
        self.mean, self.basis = mean.astype(np.float32), basis.astype(np.float32)  # [1280], [1280, DIMS]
        self.projection = np.random.default_rng(SEED).standard_normal((DIMS, BITS)).astype(np.float32)
        self.ids = np.zeros(0, np.int64)
        self.codes = np.zeros((BITS // 64, 0), np.uint64)  # word-major: popcount one word of every photo at a time
        self.reduced = np.zeros((0, DIMS), np.float32)

    @classmethod
    def fit(cls, vectors: np.ndarray) -> "Index":
        """Centre and PCA basis from (a sample of) the embeddings themselves."""
        x = _unit(vectors)
        if len(x) > 20_000:
            x = x[np.random.default_rng(SEED).choice(len(x), 20_000, replace=False)]
        mean = x.mean(0)
        xc = x - mean
        # principal axes from the 1280x1280 covariance (an SVD of the float32 data matrix took 20 s here)
        _, vectors = np.linalg.eigh((xc.T @ xc).astype(np.float64))
        basis = np.ascontiguousarray(vectors[:, ::-1][:, :DIMS], np.float32)
        rank = min(DIMS, len(x) - 1)
        basis[:, max(rank, 0):] = 0  # a small catalog has fewer real components: the rest would be noise
        return cls(mean, basis)

    def encode(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Full embeddings [N, 1280] -> (codes uint8 [N, BITS/8], reduced unit vectors [N, DIMS])."""
        r = (_unit(np.atleast_2d(vectors)) - self.mean) @ self.basis
        return np.packbits(r @ self.projection > 0, axis=1), _unit(r)

    def add(self, ids: np.ndarray, codes: np.ndarray, reduced: np.ndarray) -> None:
        self.ids = np.concatenate([self.ids, np.asarray(ids, np.int64)])
        words = np.ascontiguousarray(codes, np.uint8).view(np.uint64).T
        self.codes = np.ascontiguousarray(np.concatenate([self.codes, words], axis=1))
        self.reduced = np.concatenate([self.reduced, reduced.astype(np.float32)])

    def shortlist(self, vector: np.ndarray, n: int) -> np.ndarray:
        """Ids of the n nearest by Hamming distance, then re-ranked by the reduced vectors."""
        code, red = self.encode(vector)
        if len(self.ids) > SHORTLIST:
            q = code.view(np.uint64)[0]
            ham = np.bitwise_count(self.codes[0] ^ q[0]).astype(np.uint16)
            for w in range(1, len(q)):  # word by word: 4x faster than popcount over [N, 8] then a row sum
                ham += np.bitwise_count(self.codes[w] ^ q[w])
            cand = np.argpartition(ham, SHORTLIST)[:SHORTLIST]
        else:
            cand = np.arange(len(self.ids))
        sims = self.reduced[cand] @ red[0]
        best = cand[np.argsort(-sims, kind="stable")[:n]]
        return self.ids[best]


def _rerank(vector: np.ndarray, ids: Iterable[int], vectors_of, k: int, exclude: int | None):
    ids = [int(i) for i in ids if i != exclude]
    if not ids:
        return []
    vecs = vectors_of(ids)
    keep = [i for i in ids if i in vecs]
    if not keep:
        return []
    d = 1.0 - _unit(np.stack([vecs[i] for i in keep])) @ _unit(vector)
    order = np.argsort(d, kind="stable")[:k]
    return [(keep[j], round(float(d[j]), 6)) for j in order]


# --- the catalog side ------------------------------------------------------------------------------------------


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


def similar(catalog, photo_id: int, k: int = 10, within: Iterable[int] | None = None,
            check_files: bool = False) -> list[tuple[int, float]]:
    """The k photos most like `photo_id` (itself left out) as (photo_id, cosine distance), nearest first. Photos
    the catalog knows to be gone are never among them.

    `within` limits the search to those photo ids (searched exhaustively). `check_files`: each hit's file is
    looked at, and one found gone is marked in the catalog and replaced by the next."""
    own = _vectors(catalog, [photo_id]).get(photo_id)
    if own is None:
        raise UserError(f"photo {photo_id} has no stored embedding; run `keepers cull` on its folder first")

    def rank() -> list[tuple[int, float]]:
        if within is not None:
            gone = catalog.missing_ids()
            return _rerank(own, [i for i in within if i not in gone], lambda ids: _vectors(catalog, ids), k,
                           photo_id)
        ids = sync(catalog).shortlist(own, max(RERANK, 3 * k) + 1)  # the index holds no photo known to be gone
        return _rerank(own, ids, lambda ids: _vectors(catalog, ids), k, photo_id)

    return _present(catalog, rank, check_files)


def _present(catalog, rank, check_files: bool) -> list[tuple[int, float]]:
    """rank() again until none of its hits is a file found gone (each round marks those it found: it ends)."""
    while True:
        hits = rank()
        if not check_files or not catalog.check_files([i for i, _ in hits]):
            return hits


# --- text search ------------------------------------------------------------------------------------------------


def concepts() -> list[tuple[str, str]]:
    """What a photo's probabilities are over, as (key, text to embed): the ImageNet classes (key = wnid; text =
    plain name, then the words of its keyword paths, most specific first) and the texture head's terms."""
    from keepers.core.analyzers import keywords
    from keepers.core.inference import textures

    tax, out = keywords.taxonomy(), []
    for wnid in keywords.class_order():
        entry = tax["classes"][wnid]
        words = [entry["name"]]
        for path in entry["keywords"]:
            words += [w for w in reversed(path.split("|")) if w not in words and w != "object"]
        out.append((wnid, ", ".join(words)))
    return out + [(f"texture|{t}", ", ".join(dict.fromkeys([t, textures.US_SPELLING.get(t, t)])) + " texture, pattern")
                  for t in textures.head().terms]


def class_embeddings(catalog=None) -> np.ndarray:
    """MiniLM embeddings of the `concepts()` texts [C, 384], cached in the catalog (about 2 s to compute)."""
    from keepers.core.inference import textenc

    texts = [t for _, t in concepts()]
    key = "class_text:" + hashlib.sha256("\n".join(texts).encode() + textenc.MiniLM().entry["sha256"].encode()).hexdigest()[:16]
    if catalog is not None:
        _connect(catalog)
        blob = _meta(catalog, key)
        if blob is not None:
            return np.frombuffer(blob, np.float32).reshape(len(texts), -1)
    emb = textenc.encode(texts)
    if catalog is not None:
        with catalog._lock, catalog.db:
            _meta(catalog, key, emb.tobytes())
    return emb


def _top_probs(catalog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(photo ids [N], concept indices [N, K], probabilities [N, K]) from the tags analyzer's findings (top
    ImageNet classes and texture terms); parsed again only when the catalog's triggers have counted a change."""
    _connect(catalog)
    stamp = _generation(catalog)
    cached = catalog.__dict__.get("_vec_top")
    if cached is not None and cached[0] == stamp:
        return cached[1]
    index = {key: i for i, (key, _) in enumerate(concepts())}
    ids, cls, prob = [], [], []
    for pid, text in catalog.db.execute("SELECT f.photo_id, f.data FROM findings f JOIN photos p ON p.id = f.photo_id "
                                        "WHERE f.analyzer = ? AND p.missing_since IS NULL", (TAGS,)):
        data = json.loads(text)
        pairs = data.get("top", []) + [(f"texture|{t}", p) for t, p in data.get("textures", [])]
        top = [(index[key], p) for key, p in pairs if key in index]
        if top:
            ids.append(pid)
            cls.append([c for c, _ in top])
            prob.append([p for _, p in top])
    width = max((len(c) for c in cls), default=1)
    c = np.zeros((len(ids), width), np.int64)
    p = np.zeros((len(ids), width), np.float32)
    for i, (ci, pi) in enumerate(zip(cls, prob)):
        c[i, : len(ci)], p[i, : len(pi)] = ci, pi
    catalog.__dict__["_vec_top"] = (stamp, (np.array(ids, np.int64), c, p))
    return catalog.__dict__["_vec_top"][1]


def search_text(catalog, query: str, k: int = 10, within: Iterable[int] | None = None,
                check_files: bool = False) -> list[tuple[int, float]]:
    """Photos best matching `query` as (photo_id, cosine distance in MiniLM space), best first; never a photo the
    catalog knows to be gone. `check_files`: as for `similar`."""
    from keepers.core.inference import textenc

    if not query.strip():
        raise UserError("the search text is empty")
    emb = class_embeddings(catalog)
    q = None

    def rank() -> list[tuple[int, float]]:
        nonlocal q
        with catalog._lock:
            ids, cls, prob = _top_probs(catalog)  # photos marked gone are not in it
        if within is not None:
            keep = np.isin(ids, np.fromiter(within, np.int64))
            ids, cls, prob = ids[keep], cls[keep], prob[keep]
        if not len(ids):
            return []
        q = textenc.encode(query)[0] if q is None else q
        gram = emb @ emb.T
        # |sum p_i e_i| from the Gram matrix, so no 384-d vector per photo is ever built
        norm = np.sqrt(np.maximum(np.einsum("ni,nij,nj->n", prob, gram[cls[:, :, None], cls[:, None, :]], prob),
                                  1e-12))
        sims = (prob * (emb @ q)[cls]).sum(1) / norm
        order = np.argsort(-sims, kind="stable")[:k]
        return [(int(ids[j]), round(float(1.0 - sims[j]), 6)) for j in order]

    return _present(catalog, rank, check_files)
