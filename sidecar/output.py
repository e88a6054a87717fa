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


def class_keyword(wnid: str) -> str:
    """An ImageNet class as a keyword path with its plain name (n02099601 -> 'animal|dog|golden retriever'): what
    a DAM files by, not the classifier's code."""
    from keepers.core.analyzers.keywords import taxonomy

    entry = taxonomy()["classes"].get(wnid)
    if entry is None:
        return wnid
    paths = entry.get("keywords") or []
    return f"{paths[0]}|{entry['name']}" if paths else entry["name"]


def finding_dict(f: Finding) -> dict:
    data = f.data
    if f.analyzer == "tags" and isinstance(data.get("top"), list):
        # the classes behind the keywords, as keywords too ([wnid, p] stays in the catalog for text search)
        data = {**data, "top": [[class_keyword(str(w)), p] for w, p in data["top"]]}
    return jsonable({"version": f.version, "score": f.score, "weight": f.weight,
                     "reasons": [r.as_dict() for r in f.reasons], "features": f.features, "data": data,
                     "keywords": f.keywords})


def empty(label: str, path: str) -> dict:
    """Every field of a result (schemas.Result), nothing known yet."""
    return {"input": label, "path": path, "files": [path], "score": None, "verdict": None, "confidence": None,
            "stars": None, "reasons": [], "keywords": [], "group": None, "pick": False, "judged_by": None,
            "nsfw": None, "sidecars": [], "embedded": [], "via_plugin": [], "error": None, "error_code": None, "photo_id": None, "models": {},
            "meta": None, "video": None}


def failed(label: str, path: str, code: str, message: str) -> dict:
    """The result of an input that could not be judged at all: its error as `keepers cull --json` gives one."""
    return {**empty(label, path), "error": message, "error_code": code}
