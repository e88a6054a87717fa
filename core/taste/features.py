"""What the taste model sees of a photo: its EfficientNet-Lite0 embedding (L2-normalised, so a photo's content,
not its brightness, sets the direction) and the numbers the analyzers measured (`features`: the quality head's
reading, sharpness, exposure...), with the look of it in named terms (`look.*`: the subject's colour, framing;
keepers.core.taste.look). Photos are analysed by the one data path (a dry run of `Cull`: nothing is written
beside them), so the catalog answers for every photo seen before."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from keepers.core.taste.look import look
from keepers.core.types import Finding

EMBEDDING = "embedding"


@dataclass
class Seen:
    """One photo as the taste model sees it."""

    embedding: np.ndarray  # [1280], unit length
    measures: dict[str, float]  # "analyzer.feature" -> value
    score: float | None  # the general 1-10 score
    labels: list[str]  # the embedding's top ImageNet labels, for explaining a direction in words
    flawed: bool = False  # a named flaw costs it points (its judgement's reasons): taste cannot lift it to a keeper


def seen(findings: list[Finding], score: float | None = None) -> Seen | None:
    emb = next((f.data.get("embedding") for f in findings if f.analyzer == EMBEDDING), None)
    if emb is None:
        return None
    v = np.asarray(emb, np.float32)
    v = v / (float(np.linalg.norm(v)) or 1.0)
    measures = {f"{f.analyzer}.{k}": float(x) for f in findings for k, x in f.features.items()
                if isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(float(x))}
    measures.update({f"look.{k}": x for k, x in look(findings).items()})  # the subject's colour, framing: for words
    labels = [name for f in findings if f.analyzer == EMBEDDING for name, _ in f.data.get("labels", [])]
    return Seen(v, measures, score, labels)


def analyse(paths: list[str], settings, catalog) -> dict[str, Seen]:
    """path -> Seen for every photo of `paths` that could be judged, through the one data path (a dry run)."""
    from keepers.core.pipeline import Cull
    from keepers.core.judge.flaws import named_flaw

    out = {}
    for r in Cull(settings, catalog, dry_run=True).run(paths):
        s = seen(r.findings, r.verdict.score if r.verdict else None)
        if s is not None:
            s.flawed = bool(r.verdict and named_flaw(r.verdict.reasons))
            out[r.photo.path] = s
    return out
