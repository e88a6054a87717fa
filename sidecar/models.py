"""The models an application sees: the shared analyzers with its own weights (models:patch), and its concepts
(models:add): a concept is the centroid of a few example photos' embeddings; a photo close to it gets its keyword."""

from __future__ import annotations

import json
import re

import numpy as np

from keepers.core.types import Finding
from keepers.sidecar.store import Store, now

CONCEPT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
CONCEPT_VERSION = "concept-1"


class ModelRefused(ValueError):
    """A request names an unknown model, or a model change that cannot be made; `status` is the HTTP answer."""

    def __init__(self, message: str, status: int = 400, code: str = "bad_request"):
        super().__init__(message)
        self.status, self.code = status, code


def settings_for(store: Store, app_id: int) -> dict[str, dict]:
    return {r["model"]: {"weight": r["weight"], "enabled": bool(r["enabled"])}
            for r in store.all("SELECT * FROM model_settings WHERE app_id = ?", (app_id,))}


def concepts(store: Store, app_id: int) -> list[dict]:
    return [{"name": r["name"], "model": r["model"], "threshold": r["threshold"],
             "examples": json.loads(r["examples"]), "created_at": r["created_at"],
             "centroid": np.frombuffer(r["centroid"], np.float32)}
            for r in store.all("SELECT * FROM concepts WHERE app_id = ? ORDER BY name", (app_id,))]


def listing(engine, app_id: int) -> list[dict]:
    s = settings_for(engine.store, app_id)
    out = [{"name": a.name, "kind": "analyzer", "version": a.version,
            "weight": s.get(a.name, {}).get("weight"), "enabled": s.get(a.name, {}).get("enabled", True)}
           for a in engine.analyzers]
    out += [{"name": c["name"], "kind": "concept", "version": CONCEPT_VERSION, "weight": None, "enabled": True,
             "threshold": c["threshold"], "examples": c["examples"]} for c in concepts(engine.store, app_id)]
    return out


def plan(engine, app_id: int, names: list[str] | None) -> tuple[list, list[dict]]:
    """(analyzers, concepts) for the models named (None: every enabled analyzer and every concept)."""
    cs = {c["name"]: c for c in concepts(engine.store, app_id)}
    if names is None:
        s = settings_for(engine.store, app_id)
        analyzers = [a for a in engine.analyzers if s.get(a.name, {}).get("enabled", True)]
        chosen = list(cs.values())
    else:
        unknown = [n for n in names if n not in engine.by_name and n not in cs]
        if unknown:
            raise ModelRefused(f"unknown model {', '.join(map(repr, unknown))}; GET /v1/models lists them",
                               404, "unknown_model")
        analyzers = [engine.by_name[n] for n in dict.fromkeys(names) if n in engine.by_name]
        chosen = [cs[n] for n in dict.fromkeys(names) if n in cs]
    for c in chosen:  # a concept needs its embedding model's output
        if c["model"] not in {a.name for a in analyzers} and c["model"] in engine.by_name:
            analyzers.append(engine.by_name[c["model"]])
    return analyzers, chosen


def score_concepts(chosen: list[dict], findings: list[Finding]) -> list[Finding]:
    """One Finding per concept: cosine similarity to its centroid; weight 0, so it tags and never scores."""
    embs = {f.analyzer: f.data.get("embedding") for f in findings}
    out = []
    for c in chosen:
        e = embs.get(c["model"])
        if e is None:
            out.append(Finding(c["name"], CONCEPT_VERSION, None, weight=0.0, data={"error": "no embedding"}))
            continue
        e = np.asarray(e, np.float32)
        sim = float(e @ c["centroid"] / (np.linalg.norm(e) * np.linalg.norm(c["centroid"]) + 1e-12))
        match = sim >= c["threshold"]
        out.append(Finding(c["name"], CONCEPT_VERSION, round(sim, 4), weight=0.0,
                           features={"similarity": round(sim, 4)}, data={"threshold": c["threshold"], "match": match},
                           keywords=[f"concept|{c['name']}"] if match else []))
    return out


def patch(engine, app_id: int, name: str, weight: float | None, enabled: bool | None) -> dict:
    if name not in engine.by_name:
        raise ModelRefused(f"no analyzer named {name!r} (concepts are changed by adding them again)", 404,
                           "unknown_model")
    cur = settings_for(engine.store, app_id).get(name, {"weight": None, "enabled": True})
    weight = cur["weight"] if weight is None else weight
    enabled = cur["enabled"] if enabled is None else enabled
    engine.store.run("INSERT OR REPLACE INTO model_settings (app_id, model, weight, enabled) VALUES (?, ?, ?, ?)",
                     (app_id, name, weight, int(enabled)))
    return next(m for m in listing(engine, app_id) if m["name"] == name)


def add_concept(engine, app_id: int, name: str, examples: list[int], threshold: float, visible) -> dict:
    """Build a concept from example photo ids (`visible(ids)` keeps those the application may see)."""
    if name in engine.by_name:
        raise ModelRefused(f"{name!r} is the name of an analyzer", 409, "conflict")
    ids = list(dict.fromkeys(examples))
    seen = visible(ids)
    if len(seen) != len(ids):
        raise ModelRefused("some example photos do not exist in this application's library", 404, "not_found")
    model = next((a.name for a in engine.analyzers if a.name == "embedding"), None)
    if model is None:
        raise ModelRefused("no embedding model is installed: concepts need one", 501, "not_available")
    vecs = engine.catalog().embeddings(model, ids)
    if len(vecs) != len(ids):
        raise ModelRefused("every example photo must be analysed first (predict it once)", 409, "not_analysed")
    unit = [v / (np.linalg.norm(v) + 1e-12) for v in vecs.values()]
    centroid = np.mean(unit, axis=0).astype(np.float32)
    engine.store.run("INSERT OR REPLACE INTO concepts (app_id, name, model, centroid, threshold, examples, created_at) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)",
                     (app_id, name, model, centroid.tobytes(), float(threshold), json.dumps(ids), now()))
    return next(m for m in listing(engine, app_id) if m["name"] == name)


def delete_concept(engine, app_id: int, name: str) -> bool:
    return engine.store.run("DELETE FROM concepts WHERE app_id = ? AND name = ?", (app_id, name)) > 0
