"""The trained heads over what `quality_inputs.head_inputs` measures: the quality head (models/quality_head.npz:
standardised inputs -> raw score -> 1-10 through fixed knots, and its flaw classes) and the per-flaw scorers
(models/flaw_scorers.npz: the quality finding's features `flaw_<kind>`). Both standardise their inputs and run one
hidden ReLU layer as their training scripts do, so they live together; the analyzer (quality.py) only calls them."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from keepers.core.inference.runtime import MODELS_DIR, trained_arrays
from keepers.core.types import Finding

HEAD_FILE = MODELS_DIR / "quality_head.npz"


def _standardised(x: np.ndarray, mean: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Inputs on their training scale, as the training scripts standardise them (models/train/quality.py: design):
    centred, divided by the spread, clipped to +-6."""
    # a measure that came out infinite or undefined (a grossly over-sharpened photo's blur) counts as the training
    # average, not as NaN, which made the score NaN and the photo a reject with no reason that said why
    return np.nan_to_num(np.clip((x - mean) / scale, -6, 6), nan=0.0)


def _relu_mlp(x: np.ndarray, W1: np.ndarray, b1: np.ndarray, w2: np.ndarray) -> float:
    """One hidden ReLU layer to one output: the trained heads' shape (models/train/quality.py: predict). With a
    leading member axis (W1 members x inputs x hidden), an ensemble: the members' mean."""
    if W1.ndim == 3:
        return float(np.mean((np.maximum(np.einsum("d,kdh->kh", x, W1) + b1, 0) * w2).sum(axis=1)))
    return float(np.maximum(x @ W1 + b1, 0) @ w2)


class QualityHead:
    """The trained head: standardised inputs -> raw score (linear or one hidden layer) -> 1-10 through knots."""

    def __init__(self, path=HEAD_FILE):
        self.z = trained_arrays(path, "quality head", "models/train/quality.py")
        self.blocks = [str(b) for b in self.z["blocks"]]
        self.feature_names = [str(n) for n in self.z["feature_names"]]
        self.flaw_classes = [str(c) for c in self.z["flaw_classes"]]

    def design(self, inputs: dict) -> np.ndarray:
        """The standardised input row, blocks in training order."""
        parts = []
        for b in self.blocks:
            if b == "features":
                x = np.array([inputs["features"].get(n, 0.0) for n in self.feature_names], np.float64)
            else:
                x = np.asarray(inputs[b.removesuffix("_pca")], np.float64)
                x = x / max(float(np.linalg.norm(x)), 1e-12)
                if b.endswith("_pca"):  # the embedding's principal components, fitted in training
                    x = (x - self.z[f"{b}_pca_mean"]) @ self.z[f"{b}_pca"]
            parts.append(_standardised(x, self.z[f"{b}_mean"], self.z[f"{b}_scale"]))
        return np.concatenate(parts)

    def neutral(self, x: np.ndarray, prefixes: tuple[str, ...]) -> np.ndarray:
        """`x` with the features named by `prefixes` at their training average (0 once standardised)."""
        if "features" not in self.blocks:
            return x
        off = sum(len(self.z[f"{b}_mean"]) for b in self.blocks[: self.blocks.index("features")])
        x = x.copy()
        x[[off + i for i, n in enumerate(self.feature_names) if n.startswith(prefixes)]] = 0.0
        return x

    def raw(self, x: np.ndarray) -> float:
        z = self.z
        if "W1" in z:
            return _relu_mlp(x, z["W1"], z["b1"], z["w2"])
        return float(np.mean(z["w"] @ x))  # one linear scorer, or an ensemble's (members x inputs)

    def score(self, raw: float) -> float:
        """1-10: the raw score through fixed knots measured on reference photos (clean vs flawed)."""
        return float(np.clip(np.interp(raw, self.z["knots_x"], self.z["knots_y"]), 1.0, 10.0))

    def flaws(self, x: np.ndarray) -> dict[str, float]:
        """Probability of each flaw class ("none" included) from the same inputs."""
        logits = x @ self.z["flaw_W"] + self.z["flaw_b"]
        p = np.exp(logits - logits.max())
        return dict(zip(self.flaw_classes, (p / p.sum()).tolist()))


@lru_cache(maxsize=1)
def head() -> QualityHead:
    return QualityHead()


FLAWS_FILE = MODELS_DIR / "flaw_scorers.npz"


class FlawScorers:
    """One small scorer per flaw (models/flaw_scorers.npz, trained by models/train/flaws.py) over the head's
    features: how strongly a photo shows each flaw, 0 for the median clean photo, +1 per interquartile range of
    clean photos beyond it (the quality finding's features `flaw_<kind>`). One score for every flaw cannot keep
    what the features tell about each (docs/eval.md: what limits the per-flaw AUCs); these do."""

    def __init__(self, path=FLAWS_FILE):
        self.z = trained_arrays(path, "flaw scorers", "models/train/flaws.py")
        self.kinds = [str(k) for k in self.z["kinds"]]
        self.feature_names = [str(n) for n in self.z["feature_names"]]

    def __call__(self, features: dict[str, float]) -> dict[str, float]:
        z = self.z
        x = np.array([features.get(n, 0.0) for n in self.feature_names], np.float64)
        x = _standardised(x, z["features_mean"], z["features_scale"])
        out = {}
        for k in self.kinds:
            s = _relu_mlp(x, z[f"{k}_W1"], z[f"{k}_b1"], z[f"{k}_w2"])
            centre, unit = z[f"{k}_calib"]
            out[k] = float(-(s - centre) / unit)
        return out


@lru_cache(maxsize=1)
def flaw_scorers() -> FlawScorers:
    return FlawScorers()


FLAW_PREFIX = "flaw_"  # the quality finding's features "flaw_<kind>", which the catalog keeps and `keepers show
# --json` prints


def flaw_features(scores: dict[str, float]) -> dict[str, float]:
    return {FLAW_PREFIX + k: round(v, 2) for k, v in scores.items()}


def flaw_scores(finding: Finding) -> dict[str, float]:
    """kind -> flaw score, from a quality finding's features."""
    return {k.removeprefix(FLAW_PREFIX): v for k, v in finding.features.items() if k.startswith(FLAW_PREFIX)}

