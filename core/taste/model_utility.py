"""The trained taste model (keepers.core.taste.model's `fit` makes it): a photo turned into its vector, the
personal utility of photos, and the model as JSON in a profile."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from keepers.core.taste.features import Seen
from keepers.core.taste.model_ident import sketch
from keepers.core.taste.model_solve import _rbf


@dataclass
class Model:
    params: dict[str, Any]  # the hyper-parameters it was trained with
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)  # the measurements it reads, in order

    # --- photo -> vector -------------------------------------------------------------------------------------------
    def vectors(self, photos: list[Seen]) -> np.ndarray:
        a = self.arrays
        E = np.stack([p.embedding for p in photos]).astype(np.float64)
        Z = (E - a["mean"]) @ a["components"].T / a["pc_scale"]
        if self.keys:
            M = np.array([[p.measures.get(k, np.nan) for k in self.keys] for p in photos], np.float64)
            M = (M - a["m_mean"]) / a["m_std"]
            Z = np.hstack([Z, np.nan_to_num(np.clip(M, -4, 4))])  # a measurement missing for a photo counts as average
        return Z

    def _raw(self, Z: np.ndarray, photos: list[Seen]) -> np.ndarray:
        a, kind = self.arrays, self.params["kind"]
        own = _rbf(sketch(photos), a["seen"], a["seen_gamma"]) @ a["v"] if "v" in a else 0.0  # the per-photo term
        if kind == "logistic":
            return Z @ a["w"] + own
        if kind == "kernel":
            return _rbf(Z, a["anchors"], a["gamma"]) @ a["w"] + own
        h = np.tanh(Z @ a["W1"] + a["b1"])
        return h @ a["w2"] + own

    def utility(self, photos: list[Seen]) -> np.ndarray:
        """Standardised personal utility of each photo (0: this person's average photo, 1: one spread better)."""
        if not photos:
            return np.zeros(0)
        return (self._raw(self.vectors(photos), photos) - self.arrays["u_mean"]) / self.arrays["u_std"]

    def to_json(self) -> dict:
        return {"params": self.params, "keys": self.keys,
                "arrays": {k: np.asarray(v).tolist() for k, v in self.arrays.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "Model":
        return cls(dict(d["params"]), {k: np.asarray(v, np.float64) for k, v in d["arrays"].items()}, list(d["keys"]))
