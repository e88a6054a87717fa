"""Analyzers look at one decoded photo and return a Finding: a score in [0, 1] and the reasons behind it."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from keepers.core.types import Finding, Frame

log = logging.getLogger("keepers.analyzers")
FINDINGS = "_findings"  # frame.__dict__ key: analyzer name -> Finding, as run_all makes them


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


def run_all(frame: Frame, analyzers) -> list[Finding]:
    """Each analyzer's finding on `frame`, in order. Each is also kept on the frame (FINDINGS) for the analyzers
    after it: the quality analyzer, last, reads the others'. One analyzer's bug costs only its own finding."""
    found = frame.__dict__.setdefault(FINDINGS, {})
    out = []
    for a in analyzers:
        try:
            finding = a.analyze(frame)
        except Exception:
            log.exception("analyzer %s failed on %s", a.name, frame.source or frame.photo.path)
            continue
        found[finding.analyzer] = finding
        out.append(finding)
    return out
