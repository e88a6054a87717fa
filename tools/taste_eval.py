"""Does a learned taste agree with a person's own choices? The protocol of issue 23, on ../shared/data/taste.

Per person: the choices in the order they were made (flowers: by trial; holidays: in the file's order); the model
learns from the first half and predicts the second half. Reported per set: the mean agreement, on second halves,
of the general score (the photo with the higher 1-10 score is the preferred one), the other people's majority
(on the same pair; holidays, where others rarely saw the same pair: their win rates), and the learned profile,
with the learning curve when the profile has learned from only the first 25, 50, 100, 200 choices.

The model's kind and hyper-parameters are chosen by 5-fold cross-validation on the FIRST halves only (every
person's, mean agreement); the second halves are scored once, with the chosen setting. Photos are analysed by the
one data path (a dry run, nothing written beside them) into a catalog under ~/.cache/keepers/taste_eval, so
reruns read them back in seconds.

    .venv/bin/python tools/taste_eval.py [flowers holidays] [--quick]   (--quick: a smaller grid)
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy: on a busy machine its threads made each fit ~30x slower

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from keepers.core.io.catalog import Catalog
from keepers.core.lab.taste import flowers, holidays, majority as majority_agreement
from keepers.core.settings import Settings
from keepers.core.taste import model as tm
from keepers.core.taste.features import analyse

CACHE = Path.home() / ".cache" / "keepers" / "taste_eval"
CURVE = (25, 50, 100, 200)


def seen_photos(people: dict, settings: Settings, catalog: Catalog) -> dict:
    paths = sorted({p for pairs in people.values() for pair in pairs for p in pair})
    return analyse(paths, settings, catalog)


def general_agreement(pairs, photos) -> float:
    s = [(photos[a].score, photos[b].score) for a, b in pairs]
    return float(np.mean([1.0 if x > y else 0.5 if x == y else 0.0 for x, y in s]))


def grid(quick: bool) -> list[dict]:
    """The settings tried (docs/eval.md, Taste): pairwise logistic on the PCA of the embedding, k x lambda x how
    whitened x the per-photo term's penalty (None: without it); the analyzers' measurements; a kernel ranker;
    RankNet; the look measures beside the embedding."""
    base = {"kind": "logistic", "measures": False}
    out = [{**base, "k": k, "lam": lam, "white": wh, "ident": li}
           for k, lam, wh, li in itertools.product((8, 16, 32), (1.0, 3.0), (1.0, 0.75, 0.5), (0.3, 1.0, None))]
    out += [{**base, "k": 8, "lam": 1.0, "measures": True, "ident": None},
            {"kind": "kernel", "k": 8, "lam": 1.0, "gamma": 1.0, "measures": False},
            {"kind": "ranknet", "k": 8, "lam": 10.0, "hidden": 8, "measures": False}]
    # the shipped model plus the look in named terms (the subject's colour, framing: keepers.core.taste.look), each
    # penalised by lam_m (docs/eval.md, Taste: within noise of the model without them, not shipped)
    out += [{**base, "k": 16, "lam": 1.0, "white": 0.75, "ident": 0.3, "measures": "look.", "lam_m": lm}
            for lm in (10.0, 30.0)]
    if quick:
        out = [p for p in out if p["k"] == 16]
    return out


def as_culled(first, second, model, settings) -> float:
    """Agreement of the scores `keepers cull --taste` gives (the general score moved by the personal term within
    its band: a named flaw keeps a bad photo bad, keepers.core.taste.term), as the lead's protocol reads them."""
    from keepers.core.taste.store import Profile
    from keepers.core.taste.term import shifted, weight

    w = weight(Profile("p", model=model, cv=tm.cross_validated(first, model.params), trained_on=len(first)))
    photos = list({id(p): p for pair in second for p in pair}.values())
    u = dict(zip(map(id, photos), model.utility(photos)))
    score = {id(p): shifted(p.score, w * u[id(p)], settings, sound=not p.flawed) for p in photos}
    return float(np.mean([1.0 if score[id(a)] > score[id(b)] else 0.5 if score[id(a)] == score[id(b)] else 0.0
                          for a, b in second]))


def evaluate(name: str, people: dict, settings: Settings, catalog: Catalog, quick: bool,
             fixed: dict | None = None) -> dict:
    t0 = time.time()
    photos = seen_photos(people, settings, catalog)
    people = {p: [(a, b) for a, b in pairs if a in photos and b in photos] for p, pairs in people.items()}
    print(f"\n## {name}: {len(people)} people, {sum(map(len, people.values()))} choices, {len(photos)} photos "
          f"(analysed or read back in {time.time() - t0:.0f} s)")
    halves = {p: (pairs[:len(pairs) // 2], pairs[len(pairs) // 2:]) for p, pairs in people.items()}
    as_seen = {p: ([(photos[a], photos[b]) for a, b in first], [(photos[a], photos[b]) for a, b in second])
               for p, (first, second) in halves.items()}

    # model selection: cross-validation on the first halves only
    t0, scores = time.time(), []
    for params in ([] if fixed else grid(quick)):
        cv = np.mean([tm.cross_validated(first, params) for first, _ in as_seen.values()])
        scores.append((cv, params))
        print(f"  cv {cv:.3f}  {params}  ({time.time() - t0:.0f} s)", file=sys.stderr)
    best_cv, best = max(scores, key=lambda s: s[0]) if scores else (float("nan"), fixed)
    by_kind = {}
    for cv, params in scores:
        if cv > by_kind.get(params["kind"], (0, None))[0]:
            by_kind[params["kind"]] = (cv, params)
    print(f"chosen by 5-fold cross-validation on first halves ({len(scores)} settings, {time.time() - t0:.0f} s): "
          f"{best} (cv {best_cv:.3f}); best of each kind: "
          + ", ".join(f"{k} {cv:.3f}" for k, (cv, _) in by_kind.items()))

    rows = []
    for person, (first, second) in as_seen.items():
        row = {"person": person, "n_train": len(first), "n_test": len(second),
               "general": general_agreement(halves[person][1], photos),
               "majority": majority_agreement(person, halves[person][1], people),
               "profile": tm.agreement(tm.fit(first, best), second)}
        row["culled"] = as_culled(first, second, tm.fit(first, best), settings)
        for n in CURVE:
            row[n] = tm.agreement(tm.fit(first[:n], best), second) if n <= len(first) else float("nan")
        rows.append(row)

    print(f"\n| person | learned from | tested on | general score | others' majority | profile | cull --taste | "
          + " | ".join(f"after {n}" for n in CURVE) + " |")
    print("|---" * (7 + len(CURVE)) + "|")
    fmt = lambda x: "–" if x != x else f"{100 * x:.0f} %"  # noqa: E731
    for r in rows:
        print(f"| {r['person']} | {r['n_train']} | {r['n_test']} | {fmt(r['general'])} | {fmt(r['majority'])} | "
              f"{fmt(r['profile'])} | {fmt(r['culled'])} | " + " | ".join(fmt(r[n]) for n in CURVE) + " |")
    mean = lambda k: float(np.mean(v)) if (v := [r[k] for r in rows if r[k] == r[k]]) else float("nan")  # noqa: E731
    print(f"| **mean** | | | **{fmt(mean('general'))}** | **{fmt(mean('majority'))}** | **{fmt(mean('profile'))}** | {fmt(mean('culled'))} | "
          + " | ".join(fmt(mean(n)) for n in CURVE) + " |")
    above = sum(r["profile"] > r["majority"] for r in rows)
    at70 = sum(r["profile"] >= 0.70 for r in rows)
    c_above, c70 = sum(r["culled"] > r["majority"] for r in rows), sum(r["culled"] >= 0.70 for r in rows)
    print(f"\ncull --taste above the others' majority for {c_above} of {len(rows)} people; at or above 70 % for {c70}")
    print(f"profile above the others' majority for {above} of {len(rows)} people; at or above 70 % for {at70}; "
          f"means: general {mean('general'):.3f}, majority {mean('majority'):.3f}, profile {mean('profile'):.3f}, "
          f"cull --taste {mean('culled'):.3f}")
    return {"rows": rows, "best": best, "cv": best_cv}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("sets", nargs="*", default=["flowers", "holidays"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--params", type=json.loads, help='skip the selection: e.g. \'{"kind": "logistic", "k": 8, '
                    '"lam": 1.0, "measures": false}\'')
    args = ap.parse_args(argv)
    CACHE.mkdir(parents=True, exist_ok=True)
    settings = Settings.load(catalog=CACHE / "catalog.db")
    catalog = Catalog(settings.catalog)
    for name in args.sets:
        evaluate(name, {"flowers": flowers, "holidays": holidays}[name](), settings, catalog, args.quick, args.params)
    return 0


if __name__ == "__main__":
    sys.exit(main())
