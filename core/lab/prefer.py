"""What people prefer (issue 21, item 6): does Keepers order pairs of sound photos the way most people do?

On ../shared/data/taste, held out by PHOTOS (models/train/appeal.py: `held_out`): the photos are split into folds,
and a pair is scored only by a "people prefer" head that saw neither of its photos (its hyper-parameters chosen by
cross-validation inside the other folds' photos). Reported on the same pairs:
- flowers: the pairs with a clear majority (at least 15 of the 22 people), and holidays: the pairs with a strict
  majority among its people (pooled over its 10 people);
- today's score (the judgement without the moment and appeal terms), the held-out head alone, and the score as a
  cull gives it with the held-out head's appeal in place of the shipped head's (which saw these photos);
- the scale among the photos judged good, without and with the terms (p10 / p90, and the share at 9 or more).

Photos go through the one data path (a dry run) into a catalog under ~/.cache/keepers/lab_prefer: reruns read them
back in seconds.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from keepers.core.lab.eval import DATA

CACHE = Path.home() / ".cache" / "keepers" / "lab_prefer"
GOAL = 0.70  # flowers, clear-majority pairs


def _analysed(paths: list[str], workers: int) -> dict[str, list]:
    from keepers.core.io.catalog import Catalog
    from keepers.core.pipeline import Cull
    from keepers.core.settings import Settings

    CACHE.mkdir(parents=True, exist_ok=True)
    settings = Settings.load(catalog=CACHE / "catalog.db", workers=workers)
    return {r.photo.path: r.findings for r in Cull(settings, Catalog(settings.catalog), dry_run=True).run(paths)
            if not r.error and r.findings}


def measure(data: Path = DATA, workers: int = 2) -> dict:
    from keepers.core.judge.judgement import judge
    from keepers.core.settings import Settings
    from keepers.models.train import appeal as A

    votes = {"flowers": A.flower_votes(data), "holidays": A.holiday_votes(data)}
    paths = sorted({x for vs in votes.values() for p in vs for x in p})
    found = _analysed(paths, workers)
    emb = {p: np.asarray(e, np.float32) for p, fs in found.items()
           for e in [next((f.data.get("embedding") for f in fs if f.analyzer == "embedding"), None)] if e is not None}
    held = A.held_out(emb, data)
    settings = Settings()

    def scored(fs, u=None):
        if u is None:  # today: no appeal finding, so no moment or appeal term
            return judge([f for f in fs if f.analyzer != "appeal"], settings).score
        fs = [dataclasses.replace(f, features=f.features | {"appeal": u}) if f.analyzer == "appeal" else f for f in fs]
        return judge(fs, settings).score

    today = {p: scored(found[p]) for p in held["utility"]}
    after = {p: scored(found[p], u) for p, u in held["utility"].items()}
    out = {"photos": len(emb), "chosen_per_fold": held["chosen"], "spread": {}}
    for s in votes:  # the scale among the photos judged good (p10, p90, share at 9 or more), without and with the terms
        good = [p for p in held["utility"] if f"/{s}/" in p and (today[p] or 0) >= settings.good_threshold]
        out["spread"][s] = {k: [round(float(np.percentile([v[p] for p in good], q)), 2) for q in (10, 90)]
                            + [round(float(np.mean([v[p] >= 9 for p in good])), 3)] for k, v in (("today", today),
                                                                                             ("after", after))}
    for s, pairs in held["pairs"].items():
        clear = A.CLEAR if s == "flowers" else 0
        rows = [(a, b, v, d) for a, b, v, d in pairs if v[0] != v[1] and max(v) >= clear]
        agree = lambda diff: float(np.mean([(diff(a, b) > 0) == (v[0] > v[1]) for a, b, v, _ in rows]))  # noqa: E731
        out[s] = {"pairs": len(rows), "majority_at_least": clear or "strict",
                  "head": agree(lambda a, b: held["utility"][a] - held["utility"][b]),
                  "score_today": agree(lambda a, b: (today[a] or 0) - (today[b] or 0)),
                  "score_after": agree(lambda a, b: (after[a] or 0) - (after[b] or 0)),
                  # the pairs whose photo most people chose a cull judges bad (session 15: 11 of flowers' 70), and the
                  # share of the set's photos judged bad: sound photos people looked at for their beauty
                  "chosen_bad": sum(((after[a] if v[0] > v[1] else after[b]) or 0) < settings.good_threshold
                                    for a, b, v, _ in rows),
                  "judged_bad": float(np.mean([(after[p] or 0) < settings.good_threshold for p in after
                                               if f"/{s}/" in p]))}
    return out


def report(m: dict) -> str:
    f, h = m["flowers"], m["holidays"]
    rows = [("flowers, clear majority (≥ 15 of 22)", f, f"≥ {GOAL:.0%}"), ("holidays, majority of its people", h, "–")]
    chosen = ", ".join(f"{c['k']}/{c['lam']:g}" for c in m["chosen_per_fold"])
    lines = [f"Held out by photos ({m['photos']} photos in 3 folds; per fold k/λ chosen by cross-validation on the "
             f"other folds' photos: {chosen}).", "",
             "| pairs | n | today's score | people-prefer head | score with the head (as a cull) | goal |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {r['pairs']} | {r['score_today']:.1%} | {r['head']:.1%} | {r['score_after']:.1%} | {goal} |"
              for name, r, goal in rows]
    lines += ["", "Judged bad as a cull scores them: flowers " + f"{f.get('judged_bad', 0):.1%} of the photos, the "
              f"photo most people chose in {f.get('chosen_bad', '–')} of its {f['pairs']} pairs; holidays "
              f"{h.get('judged_bad', 0):.1%}, {h.get('chosen_bad', '–')} of {h['pairs']}."]
    lines += ["", "| photos judged good | p10 / p90 without the moment and appeal terms | with them | scored 9 or more |",
              "|---|---|---|---|"]
    lines += [f"| {s} | {v['today'][0]:.2f} / {v['today'][1]:.2f} | {v['after'][0]:.2f} / {v['after'][1]:.2f} | "
              f"{v['today'][2]:.0%} → {v['after'][2]:.0%} |" for s, v in m.get("spread", {}).items()]
    return "\n".join(lines)


if __name__ == "__main__":
    import json
    import sys

    m = measure(workers=int(sys.argv[1]) if len(sys.argv) > 1 else 2)
    print(report(m))
    print(json.dumps(m, indent=1), file=sys.stderr)
