"""Texture & pattern tags: a linear head over the EfficientNet-Lite0 embedding, trained on labelled DTD photos.

The head (models/textures_head.npz, trained by models/train/textures.py) scores the DTD terms it has examples for
plus a `none` class (ordinary photos), so an ordinary photo is not tagged with its least unlikely texture. Other
terms of the vocabulary come from ImageNet classes through models/taxonomy.json (`texture|...` keywords, e.g.
honeycomb -> honeycombed, feather boa -> feathers). No source predicts the fresh concepts yet (no labelled photos,
no ImageNet class): they are listed so a future head knows its target words. Text search (keepers.core.search.similarity)
also matches words against the head's terms.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from keepers.core.errors import ModelError
from keepers.core.inference.runtime import MODELS_DIR

HEAD_FILE = MODELS_DIR / "textures_head.npz"
NONE = "none"

# the vocabulary, in the seed's three kinds; README-text.md says which terms each source predicts
DESCRIPTIVE = (  # the 47 terms of the Describable Textures Dataset
    "banded", "blotchy", "braided", "bubbly", "bumpy", "chequered", "cobwebbed", "cracked", "crosshatched",
    "crystalline", "dotted", "fibrous", "flecked", "freckled", "frilly", "gauzy", "grid", "grooved", "honeycombed",
    "interlaced", "knitted", "lacelike", "lined", "marbled", "matted", "meshed", "paisley", "perforated", "pitted",
    "pleated", "polka-dotted", "porous", "potholed", "scaly", "smeared", "spiralled", "sprinkled", "stained",
    "stratified", "striped", "studded", "swirly", "veined", "waffled", "woven", "wrinkled", "zigzagged")
COMMON = ("feathers", "fur", "wool", "velvet", "stone", "thatch", "tiles", "wicker", "rope", "quilted", "metallic",
          "coral", "woodgrain", "brick", "sand", "foliage")
US_SPELLING = {"chequered": "checkered", "spiralled": "spiraled"}  # DTD spells British; queries often don't
FRESH = ("petrified wood", "glacial ice", "lichen", "rust", "peeling paint", "tree bark", "frost", "basalt columns")


class TextureHead:
    """Softmax regression: L2-normalised embedding, standardised, times W plus b."""

    def __init__(self, path=HEAD_FILE):
        if not path.is_file():
            raise ModelError(f"texture head {path} is missing; rebuild it with: python models/train/textures.py")
        with np.load(path) as z:
            self.W, self.b = z["W"].astype(np.float32), z["b"].astype(np.float32)
            self.mean, self.scale = z["mean"].astype(np.float32), z["scale"].astype(np.float32)
            self.classes = tuple(str(c) for c in z["classes"])
            self.threshold = float(z["threshold"])  # a term is tagged at this probability or above
            self.max_tags = int(z["max_tags"])

    @property
    def terms(self) -> tuple[str, ...]:
        return tuple(c for c in self.classes if c != NONE)

    def probs(self, embedding: np.ndarray) -> np.ndarray:
        """Probabilities over `classes` for one embedding [1280] or a batch [N, 1280]."""
        x = np.atleast_2d(np.asarray(embedding, np.float32))
        x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
        z = ((x - self.mean) / self.scale) @ self.W + self.b
        z -= z.max(axis=1, keepdims=True)
        p = np.exp(z)
        p /= p.sum(axis=1, keepdims=True)
        return p[0] if np.ndim(embedding) == 1 else p

    def ranked(self, embedding: np.ndarray) -> list[tuple[str, float]]:
        """Every term with its probability, most probable first (`none` left out)."""
        p = self.probs(embedding)
        return sorted(((c, float(v)) for c, v in zip(self.classes, p) if c != NONE), key=lambda t: -t[1])

    def texture_probability(self, embedding: np.ndarray) -> float:
        """How sure the head is that the photo is a texture close-up at all: 1 - p(none)."""
        return 1.0 - float(self.probs(embedding)[self.classes.index(NONE)])

    def tags(self, embedding: np.ndarray) -> list[tuple[str, float]]:
        """`texture|<term>` keywords whose probability reaches the trained threshold, at most `max_tags`."""
        return [(f"texture|{t}", round(p, 3)) for t, p in self.ranked(embedding)[: self.max_tags]
                if p >= self.threshold]


@lru_cache(maxsize=1)
def head() -> TextureHead:
    return TextureHead()
