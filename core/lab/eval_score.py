"""Every test photo of `keepers eval` (keepers.core.lab.eval) through the analyzers and the judging step, as a cull
judges it, in a pool of worker processes: each photo's scores with its flawed copies', and the closed-eye verdicts."""

from __future__ import annotations

import sys
from pathlib import Path

from keepers.core.lab.eval_flaws import KINDS, LEVELS, distorted, variant_frame

_state: dict = {}


def _pool_init(good_threshold: float) -> None:
    from keepers.core.workers import prepare_worker

    prepare_worker()  # one thread per library, freed memory reused, as the cull's workers
    _init(good_threshold)


def _init(good_threshold: float) -> None:
    from keepers.core import pm
    from keepers.core.analyzers.quality import QualityAnalyzer
    from keepers.core.settings import Settings

    _state["settings"] = Settings(good_threshold=good_threshold)
    _state["analyzers"] = pm.analyzers(_state["settings"])
    _state["quality"] = next(a for a in _state["analyzers"] if isinstance(a, QualityAnalyzer))  # alone: eye photos


def score_photo(path: str, synthetic: bool, levels: tuple[int, ...] = LEVELS) -> dict[str, tuple[float, dict, list]]:
    """variant ("orig", "<kind>-<level>") -> (1-10 score, flaw scores, reason codes in the order a cull gives
    them) of one test photo (and its distortions)."""
    from keepers.core.analyzers import run_all
    from keepers.core.judge.judgement import judge
    from keepers.core.io.loader import load
    from keepers.core.analyzers.quality import flaw_scores
    from keepers.core.types import Photo

    frame = load(Photo(path, "jpeg"), 1024)
    variants = {"orig": frame.rgb}
    for kind in KINDS if synthetic else ():
        for lv in levels:
            variants[f"{kind}-{lv}"] = distorted(frame.rgb, kind, lv, Path(path).name)
    out = {}
    for name, rgb in variants.items():
        found = run_all(variant_frame(frame, rgb), _state["analyzers"])
        v = judge(found, _state["settings"])
        out[name] = (v.score, flaw_scores(next(f for f in found if f.analyzer == "quality")), [r.code for r in v.reasons])
    return out


def closed_eye_photo(path: str) -> bool:
    """Whether a cull would give this photo a closed-eye reason (the faces analyzer's, or the quality analyzer's
    second look at a face that fills the frame)."""
    from keepers.core.io.loader import load
    from keepers.core.analyzers.quality import analyze_alone
    from keepers.core.types import Photo

    frame = load(Photo(path, "jpeg"), 1024)
    reasons = [r for f in analyze_alone(frame, _state["quality"]) for r in f.reasons]
    return any("closed" in r.code or "blink" in r.code for r in reasons)


def _map(fn, args: list[tuple], workers: int, good_threshold: float, label: str) -> list:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    print(f"{label}: {len(args)} photos...", file=sys.stderr, flush=True)  # stdout is the report (or its JSON)
    if workers <= 1:
        _init(good_threshold)
        return [fn(*a) for a in args]
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=_pool_init,
                             initargs=(good_threshold,)) as pool:
        return list(pool.map(fn, *zip(*args), chunksize=1))
