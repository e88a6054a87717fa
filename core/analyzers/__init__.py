"""Analyzers look at one decoded photo and return a Finding: a score in [0, 1] and the reasons behind it."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from keepers.core.types import Finding, Frame

log = logging.getLogger("keepers.analyzers")


class Analyzer(ABC):
    """One aspect of a photo (focus, noise, exposure, faces...).

    `name` is stable (it keys stored results); bump `version` whenever the numbers an analyzer returns change, so
    the catalog knows to analyse again. Analyzers run in worker processes: keep per-process state (a model
    session) lazy, and make `analyze` free of side effects.
    """

    name: str = ""
    version: str = "1"
    # the analyzers whose findings this one reads: run_all runs them first and passes their findings to `analyze`
    # as `inputs` (name -> Finding). An analyzer without requirements is called with the frame alone.
    requires: tuple[str, ...] = ()

    @abstractmethod
    def analyze(self, frame: Frame) -> Finding:
        """Measure one photo (an analyzer with `requires` also takes `inputs`). Judging is not its job: the
        judging step (keepers.core.judge.judgement) makes the score from every finding."""


def run_all(frame: Frame, analyzers, given: list[Finding] = ()) -> list[Finding]:
    """Each analyzer's finding on `frame`, those it requires first. `given`: findings made already (read, not
    returned). One analyzer's bug costs only its own finding (and those that require it)."""
    found = {f.analyzer: f for f in given}
    out = []
    for a in _ordered(analyzers):
        try:
            if a.requires:
                finding = a.analyze(frame, {n: found[n] for n in a.requires if n in found})
            else:
                finding = a.analyze(frame)
        except Exception:
            log.exception("analyzer %s failed on %s", a.name, frame.source or frame.photo.path)
            continue
        found[finding.analyzer] = finding
        out.append(finding)
    return out


def _ordered(analyzers) -> list[Analyzer]:
    """The analyzers in their given order, except that each comes after those it requires (a stable topological
    order; a requirement nobody provides is ignored, and the analyzer measures it itself)."""
    pending, done, out = list(analyzers), set(), []
    names = {a.name for a in pending}
    while pending:
        ready = next((a for a in pending if all(n in done or n not in names for n in a.requires)), pending[0])
        pending.remove(ready)
        done.add(ready.name)
        out.append(ready)
    return out
