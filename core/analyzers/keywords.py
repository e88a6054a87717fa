"""Keywords a photographer files by, from ImageNet class probabilities, through models/taxonomy.json.

Each class files under one or more '|'-separated paths (`animal|dog`); a keyword's confidence is the probability
mass of every class under it, so five dog breeds at 0.1 each make a confident `animal|dog` although no breed is.
The deepest confident keywords are kept (`animal|dog` implies `animal`), plus the class's own plain name when
one class alone is confident (`animal|dog|golden retriever`). A domain vocabulary (general, food, apparel,
travel, wedding) keeps only its part of the taxonomy and adds its own finer keywords.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from keepers.core.errors import UserError
from keepers.core.inference.runtime import MODELS_DIR

TAXONOMY_FILE = MODELS_DIR / "taxonomy.json"
CLASSES_FILE = MODELS_DIR / "imagenet_classes.txt"


def ancestors(path: str) -> list[str]:
    """'a|b|c' -> ['a', 'a|b', 'a|b|c']."""
    parts = path.split("|")
    return ["|".join(parts[: i + 1]) for i in range(len(parts))]


@dataclass(frozen=True)
class Vocabulary:
    """One domain's view of the taxonomy: `nodes[j]` gets the probability mass `probs @ member[:, j]`."""

    name: str
    nodes: tuple[str, ...]
    member: np.ndarray  # float32 [classes, nodes], 1 where the class files under the node
    leaf_paths: tuple[str | None, ...]  # per class: the path its plain name hangs from (None: outside)
    names: tuple[str, ...]
    depth: tuple[float, ...]  # confidence needed at depth 1, 2, 3+
    leaf: float
    max_keywords: int
    never_alone: frozenset[str] = frozenset()  # too broad to say anything on its own ('object')

    def keywords(self, probs: np.ndarray) -> list[tuple[str, float]]:
        """(keyword, confidence) pairs, most confident first, at most `max_keywords` of them."""
        probs = np.asarray(probs, np.float64).reshape(-1)
        mass = probs @ self.member
        need = np.array([self.depth[min(n.count("|"), len(self.depth) - 1)] for n in self.nodes])
        sure = {self.nodes[j]: float(mass[j]) for j in np.flatnonzero(mass >= need)}
        # keep the deepest: drop a keyword when a confident descendant says more
        deepest = {k: v for k, v in sure.items()
                   if k not in self.never_alone and not any(o.startswith(k + "|") for o in sure)}
        top = int(np.argmax(probs))
        path = self.leaf_paths[top]
        if probs[top] >= self.leaf and path is not None and path in sure and not path.endswith("|" + self.names[top]):
            leaf = f"{path}|{self.names[top]}"
            deepest = {k: v for k, v in deepest.items() if not leaf.startswith(k + "|")}
            deepest[leaf] = float(probs[top])
        ranked = sorted(deepest.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(k, round(v, 3)) for k, v in ranked[: self.max_keywords]]


@lru_cache(maxsize=1)
def taxonomy() -> dict:
    return json.loads(TAXONOMY_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def class_order() -> tuple[str, ...]:
    """WordNet ids in the classifier's output order."""
    return tuple(line.split("\t", 1)[0] for line in CLASSES_FILE.read_text(encoding="utf-8").splitlines() if line)


def vocabularies() -> list[str]:
    return list(taxonomy()["vocabularies"])


def allowed(path: str, include: list[str]) -> bool:
    return any(path == p or path.startswith(p + "|") for p in include)


@lru_cache(maxsize=None)
def vocabulary(name: str = "general") -> Vocabulary:
    tax = taxonomy()
    if name not in tax["vocabularies"]:
        raise UserError(f"unknown keyword vocabulary {name!r}; choose one of: {', '.join(tax['vocabularies'])}")
    spec = tax["vocabularies"][name]
    include, extra = spec["include"], spec.get("extra", {})
    order = class_order()
    per_class, leaf_paths, names = [], [], []
    for wnid in order:
        entry = tax["classes"][wnid]
        paths = [p for p in entry["keywords"] + extra.get(wnid, []) if allowed(p, include)]
        # ancestors above the vocabulary's own roots say nothing in it ('nature' for food's 'nature|plant')
        per_class.append({a for p in paths for a in ancestors(p) if allowed(a, include)})
        leaf_paths.append(paths[0] if paths else None)
        names.append(entry["name"])
    nodes = sorted(set().union(*per_class))
    index = {n: j for j, n in enumerate(nodes)}
    member = np.zeros((len(order), len(nodes)), np.float32)
    for i, ns in enumerate(per_class):
        member[i, [index[n] for n in ns]] = 1.0
    th = {**tax["thresholds"], **{k: spec[k] for k in ("leaf", "depth", "max_keywords") if k in spec}}
    return Vocabulary(name, tuple(nodes), member, tuple(leaf_paths), tuple(names), tuple(th["depth"]),
                      float(th["leaf"]), int(th["max_keywords"]), frozenset(th.get("never_alone", ())))


def keywords(probs: np.ndarray, vocabulary_name: str = "general") -> list[str]:
    """The keywords of one photo's 1000 ImageNet probabilities, in the chosen vocabulary."""
    return [k for k, _ in vocabulary(vocabulary_name).keywords(probs)]


def includes_textures(vocabulary_name: str = "general") -> bool:
    return allowed("texture", taxonomy()["vocabularies"][vocabulary_name]["include"])
