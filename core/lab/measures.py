"""Every measure `keepers eval` reports, by part: the quality engine on synthetic flaws and real defects
(keepers.core.lab.eval), false alarms on clean real photos (falsealarms), cross-flaw calibration against people's
KADID-10k and TID2013 opinions (kadid), what people prefer among sound photos (prefer), what a photographer reads
of the reasons (reasons), each person's taste learned by the real commands (taste). Each part's module measures
and reports itself; this one only runs the chosen parts and joins their Markdown, which docs/eval.md keeps."""

from __future__ import annotations

import importlib
import time
from pathlib import Path

# part -> (module, title); in the order they are reported. `quality` is keepers.core.lab.eval's evaluate/report
PARTS = {
    "quality": ("keepers.core.lab.eval", "Synthetic flaws, real defects, closed eyes"),
    "false_alarms": ("keepers.core.lab.falsealarms", "False alarms on clean real photos"),
    "cross_flaw": ("keepers.core.lab.kadid", "Cross-flaw calibration (KADID-10k, TID2013)"),
    "prefer": ("keepers.core.lab.prefer", "What people prefer (taste/flowers, taste/holidays)"),
    "reasons": ("keepers.core.lab.reasons", "What a photographer reads of the reasons"),
    "taste": ("keepers.core.lab.taste", "Each person's taste learned, through the real commands (issue 23)"),
}


def measure(data: Path, parts: list[str], every: int = 1, workers: int = 2, good_threshold: float = 5.0) -> dict:
    """{part: its measures (with the seconds it took)} for each chosen part."""
    out = {}
    for part in parts:
        module = importlib.import_module(PARTS[part][0])
        t0 = time.time()
        if part == "quality":
            m = module.evaluate(data, every=every, workers=workers, good_threshold=good_threshold)
        else:
            m = module.measure(data, workers=workers)
        m["seconds"] = round(time.time() - t0, 1)
        out[part] = m
    return out


def report(ms: dict) -> str:
    """Each part's own Markdown under its title."""
    blocks = []
    for part, m in ms.items():
        text = importlib.import_module(PARTS[part][0]).report(m)
        text = "\n".join(text) if isinstance(text, list) else text
        blocks.append(f"#### {PARTS[part][1]} ({m['seconds']:.0f} s)\n\n{text}")
    return "\n\n".join(blocks)
