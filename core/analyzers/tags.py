"""Tags analyzer: keywords from ImageNet classes (keepers.core.analyzers.keywords) and texture tags (keepers.core.inference.textures).

It judges nothing (score None, weight 0). It stores the photo's top ImageNet probabilities as data["top"]
([wnid, p] pairs), which text search (keepers.core.search.similarity) reads. The vocabulary comes from the setting
`keyword_vocabulary` (general, food, apparel, travel, wedding; default general).
"""

from __future__ import annotations

import numpy as np

from keepers.core.analyzers import keywords
from keepers.core.inference import textures
from keepers.core.analyzers import Analyzer
from keepers.core.inference.embedding import frame_embedding, shared_model
from keepers.core.hookspecs import hookimpl
from keepers.core.types import Finding, Frame

TOP_K = 10  # ImageNet classes kept per photo for text search (they hold nearly all the probability mass)
TEXTURE_PHOTO = 0.5  # above this p(texture close-up), object keywords need OBJECT_ON_TEXTURE confidence
OBJECT_ON_TEXTURE = 0.7


class TagsAnalyzer(Analyzer):
    name = "tags"
    version = "1"

    def __init__(self, vocabulary: str = "general", providers: list[str] | None = None):
        keywords.vocabulary(vocabulary)  # an unknown name fails here, at start-up, not per photo
        self.vocabulary = vocabulary
        self.version = f"{TagsAnalyzer.version}.{vocabulary}"  # another vocabulary means analysing again
        self._providers = providers
        self._model = None

    @property
    def model(self):
        if self._model is None:
            self._model = shared_model(self._providers)
        return self._model

    def analyze(self, frame: Frame) -> Finding:
        feats, probs = frame_embedding(frame, self.model)
        found = keywords.vocabulary(self.vocabulary).keywords(probs)
        head = textures.head()
        p_texture = head.texture_probability(feats)
        if p_texture >= TEXTURE_PHOTO:  # a close-up of a surface: its ImageNet objects are mostly guesses
            found = [(k, p) for k, p in found if p >= OBJECT_ON_TEXTURE or k.startswith("texture|")]
        if keywords.includes_textures(self.vocabulary):
            have = {k for k, _ in found}
            found += [(k, p) for k, p in head.tags(feats) if k not in have]
        else:
            found = [(k, p) for k, p in found if not k.startswith("texture|")]
        top = np.argsort(-probs)[:TOP_K]
        order = keywords.class_order()
        data = {"top": [[order[i], round(float(probs[i]), 4)] for i in top],
                "keywords": {k: p for k, p in found},
                "textures": [[t, round(p, 3)] for t, p in head.ranked(feats)[:3]],
                "texture_probability": round(p_texture, 3), "vocabulary": self.vocabulary}
        return Finding(self.name, self.version, score=None, weight=0.0, data=data, keywords=[k for k, _ in found])


@hookimpl
def keepers_analyzers(settings):
    return [TagsAnalyzer(vocabulary=getattr(settings, "keyword_vocabulary", "general"),
                         providers=getattr(settings, "providers", None))]
