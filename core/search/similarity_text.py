"""Text search (ConSE): the concepts a photo's probabilities are over (ImageNet classes with their keywords, the
texture terms), their MiniLM embeddings cached in the catalog, each photo's top probabilities from the `tags`
analyzer, and `search_text`, which ranks the photos by a text's MiniLM embedding."""

from __future__ import annotations

import hashlib
import json
from typing import Iterable

import numpy as np

from keepers.core.errors import UserError
from keepers.core.search.similarity_index import TAGS
from keepers.core.search.similarity_store import _connect, _generation, _meta, _present

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
