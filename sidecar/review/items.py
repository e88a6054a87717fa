"""The photos a review page shows, one Item each: the choices it shows (stars, flag, colour label), where a
choice goes, and what the page shows and never changes (score, reasons, focus box, EXIF), read once at load.
Kept apart from Review, which holds and changes them, so the page's data reads without the write path."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

LABELS = ("red", "yellow", "green", "blue", "purple")


@dataclass
class Item:
    id: int
    photo: object  # keepers.core.types.Photo
    content_hash: str
    rating: int  # the stars shown (0-5)
    flag: str | None  # 'pick', 'reject' or None
    label: str | None  # 'red'... or None
    where: str  # where a choice goes: 'sidecar', 'embedded' (into the file) or 'plugin' (the catalog only)
    target: Path | None  # the sidecar or the photo file written
    info: dict = field(default_factory=dict)  # what the page shows and never changes: score, reasons, group...
    seq: int = 0  # the review's change number at this photo's last change: a page keeps the newest it was told

    def as_dict(self) -> dict:
        return {"id": self.id, "rating": self.rating, "flag": self.flag, "label": self.label, "where": self.where,
                "seq": self.seq, **self.info}

    def state(self) -> tuple:
        return self.rating, self.flag, self.label


def _focus(r) -> list[float] | None:
    """Where focus was judged, as fractions (x0, y0, x1, y1) of the frame: the largest face, else the sharpness
    analyzer's sharpest tile; None where neither was found. Boxes are in analysis-image pixels (the long side
    shrunk to the analysis size, never enlarged)."""
    m, found = r.meta, {f.analyzer: f for f in (r.findings or [])}
    if m is None or not m.width or not m.height:
        return None
    faces = ((found.get("faces") and found["faces"].data) or {}).get("faces") or []
    box = faces[0].get("box") if faces else ((found.get("sharpness") and found["sharpness"].data) or {}).get("best_box")
    if not box or len(box) != 4:
        return None
    k = min(1.0, 1024 / max(m.width, m.height))  # Settings.analysis_size's default; a ratio, so only k matters
    w, h = max(1, round(m.width * k)), max(1, round(m.height * k))
    return [round(min(max(v / s, 0.0), 1.0), 4) for v, s in zip(box, (w, h, w, h))]


def _info(r) -> dict:
    from keepers.core.commands.cull import why
    from keepers.core.judge.flaws import role, shown
    from keepers.core.judge.texts import plain, points

    v, m = r.verdict, r.meta
    # the reasons as `keepers show` lists them (a keeper's flaws that cost nothing left out), with its words and
    # signed points; the grid's line is the cull table's why
    return {"name": os.path.basename(r.photo.path), "path": r.photo.path, "score": round(v.score, 1),
            "verdict": v.verdict, "stars": v.stars, "group": v.group, "pick": v.pick, "why": why(v),
            "reasons": [{"code": x.code, "message": x.message, "cost": round(x.cost, 2), "role": role(x),
                         "points": points(x.cost), "said": plain(x)} for x in shown(v.reasons, v.verdict == "good")],
            "keywords": v.keywords, "time": m.capture_time if m else None, "focus": _focus(r),
            "exif": {k: getattr(m, k, None) for k in ("model", "lens", "exposure_time", "f_number", "iso", "width",
                                                       "height")} if m else {}}
