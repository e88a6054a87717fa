"""Analyzers look at one decoded photo and return a Finding: a score in [0, 1] and the reasons behind it."""

from __future__ import annotations

from abc import ABC, abstractmethod

from keepers.core.types import Finding, Frame


class Analyzer(ABC):
    """One aspect of a photo (focus, noise, exposure, faces...).

    `name` is stable (it keys stored results); bump `version` whenever the numbers an analyzer returns change, so
    the catalog knows to analyse again. Analyzers run in worker processes: keep per-process state (a model
    session) lazy, and make `analyze` free of side effects.
    """

    name: str = ""
    version: str = "1"

    @abstractmethod
    def analyze(self, frame: Frame) -> Finding:
        """Judge one photo."""
