"""Find photos by photo (`similar`) or by words (`search_text`), over what the catalog stores.

Image index: the catalog's EfficientNet embeddings are reduced to 128 dimensions (PCA fitted on the catalog
itself, refitted when it has grown 4x) and hashed to 512 bits (signs of a fixed random projection); both live in
a sqlite-vec `vec0` table inside the catalog file. A query ranks every photo by Hamming distance (numpy popcount:
sqlite-vec's own scan of 100 k bit vectors took 30-80 ms here), re-ranks the best SHORTLIST by the reduced
vectors and the best RERANK by the full embeddings, so distances are exact cosine distances.

Text search is ConSE (Norouzi et al., 2014): a photo's vector in MiniLM space is its top ImageNet and texture
probabilities (stored by the `tags` analyzer) weighting the MiniLM embeddings of the class names with their
keywords and of the texture terms.

The parts: `similarity_index.py` (the index in memory), `similarity_store.py` (its tables in the catalog, kept up to
date) and `similarity_text.py` (text search); `similar` is here.
"""

from __future__ import annotations

from typing import Iterable

from keepers.core.errors import UserError
from keepers.core.search.similarity_index import RERANK, _rerank
from keepers.core.search.similarity_store import _present, _vectors, sync

# what other modules import from here (core/commands/similar.py, sidecar/library.py, core/lab/bench.py, tests),
# from the modules that now hold it
from keepers.core.search.similarity_index import (  # noqa: F401
    BITS, DIMS, MODEL, REFIT_GROWTH, SEED, SHORTLIST, TAGS, Index, _unit,
)
from keepers.core.search.similarity_store import SCHEMA  # noqa: F401
from keepers.core.search.similarity_text import class_embeddings, concepts, search_text  # noqa: F401


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
