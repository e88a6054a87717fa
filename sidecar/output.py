"""How engine objects look in API responses: plain JSON (no NaN, no numpy), big arrays summarised."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from keepers.core.types import Finding, Reason, Verdict

MAX_LIST = 32  # longer numeric arrays (embeddings) are summarised, not sent


def jsonable(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        v = v.tolist()
    if isinstance(v, (np.floating, np.integer, np.bool_)):
        v = v.item()
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        if len(v) > MAX_LIST and all(isinstance(x, (int, float)) for x in v[:MAX_LIST]):
            return {"omitted": "array", "length": len(v)}
        return [jsonable(x) for x in v]
    if v is None or isinstance(v, (str, int, bool)):
        return v
    return str(v)


def reason_dict(r: Reason) -> dict:
    return jsonable(r.as_dict())


def verdict_dict(v: Verdict) -> dict:
    return jsonable({"score": v.score, "verdict": v.verdict, "confidence": v.confidence, "stars": v.stars,
                     "reasons": [r.as_dict() for r in v.reasons], "keywords": v.keywords, "group": v.group,
                     "pick": bool(v.pick), "judged_by": v.judged_by})


def finding_dict(f: Finding) -> dict:
    return jsonable({"version": f.version, "score": f.score, "weight": f.weight,
                     "reasons": [r.as_dict() for r in f.reasons], "features": f.features, "data": f.data,
                     "keywords": f.keywords})


def input_error(code: str, message: str) -> dict:
    return {"code": code, "message": message}
