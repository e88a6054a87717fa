"""Issue 23's protocol through the real commands, as the lead runs it: per person, a CSV of the first half of their
choices goes in by `keepers taste import PERSON choices.csv`, and `keepers cull --json --dry-run --taste PERSON`
scores the photos of the second half; the share of second-half choices whose preferred photo scores higher (a tie
counts half) is that person's agreement. Reported beside the other people's majority on the same choices (their
own votes: the best a population could know). Sets: ../shared/data/taste/flowers (22 people, the same 400 pairs,
by trial) and taste/holidays (10 people, in the file's order). Everything is written under a temporary folder.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
KEEPERS = str(Path(sys.executable).with_name("keepers"))


def flowers(data: Path = DATA) -> dict[str, list[tuple[str, str]]]:
    """person -> [(preferred, other)] photo paths, in the order chosen (by trial)."""
    d = Path(data) / "taste" / "flowers"
    rows = sorted(csv.DictReader(open(d / "pairwise_choices.csv")), key=lambda r: (r["participant"], int(r["trial"])))
    people = defaultdict(list)
    for r in rows:
        people[r["participant"]].append((str(d / "images" / r["winner"]), str(d / "images" / r["loser"])))
    return dict(people)


def holidays(data: Path = DATA) -> dict[str, list[tuple[str, str]]]:
    """person -> [(preferred, other)], in the file's order; only the choices whose two photos are here."""
    d = Path(data) / "taste" / "holidays"
    files = {r["id"]: str(d / r["file"]) for r in csv.DictReader(open(d / "manifest.csv")) if r["present"] == "1"}
    people = {}
    for f in sorted((d / "labels").glob("user*.txt"), key=lambda p: int(p.stem[4:])):
        pairs = [line.strip().split(",") for line in f.read_text().splitlines() if "," in line]
        people[f.stem] = [(files[a], files[b]) for a, b in pairs if a in files and b in files]
    return people


def majority(person: str, test, people) -> float:
    """The others' majority on the same pair; where no one else chose between those two photos, the photo the
    others chose more often overall (its win rate); a tie counts half."""
    same, wins, seen = Counter(), Counter(), Counter()
    for other, pairs in people.items():
        if other != person:
            for a, b in pairs:
                same[a, b] += 1
                wins[a] += 1
                seen[a] += 1
                seen[b] += 1
    hits = []
    for a, b in test:
        x, y = same[a, b], same[b, a]
        if x + y == 0:
            x, y = wins[a] / max(1, seen[a]), wins[b] / max(1, seen[b])
        hits.append(1.0 if x > y else 0.5 if x == y else 0.0)
    return sum(hits) / len(hits)


def _run(home: Path, *args) -> subprocess.CompletedProcess:
    env = dict(os.environ, XDG_DATA_HOME=str(home / "data"), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), KEEPERS_LOAD_PLUGINS="0")
    p = subprocess.run([KEEPERS, *map(str, args), "--catalog", str(home / "catalog.db")], env=env,
                       capture_output=True, text=True)
    if p.returncode and not p.stdout:  # a cull exits 1 where a sidecar could not be written (read-only photos)
        raise RuntimeError(f"keepers {args[0]} {args[1]}: {p.stderr.strip()}")
    return p


def held(record: dict, settings=None) -> bool:
    """Whether taste could not move this photo freely in the cull: its band (core/taste/term.band) has a closed top,
    as a reject stays a reject and a photo judged bad for a named flaw stays bad, whatever the person prefers."""
    from keepers.core.judge.flaws import named_flaw
    from keepers.core.settings import Settings
    from keepers.core.taste.term import band
    from keepers.core.types import Reason

    reasons = [Reason(r["code"], r["message"], r.get("severity", 0.0), r.get("cost", 0.0))
               for r in record.get("reasons", [])]
    # the score before taste moved it (its reason's cost is minus the points it gave): the band is the general score's
    score = record["score"] + sum(r.cost for r in reasons if r.code == "taste")
    return band(score, not named_flaw(reasons), settings or Settings())[2]


def person(home: Path, name: str, pairs, workers: int = 2, tally: Counter | None = None) -> float:
    """One person's agreement, through the real commands (their first half imported, the second half culled).
    `tally` (where given) counts the second half's pairs by what decided them: `pairs`, `tied` (the same score: half
    a point each), `held` (a photo of the pair a reject or bad for a named flaw, which taste may not lift) and
    `held_wrong` (of those, the pairs the cull ordered against the person)."""
    first, second = pairs[:len(pairs) // 2], pairs[len(pairs) // 2:]
    with open(home / f"{name}.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["preferred", "other"])
        w.writerows(first)
    _run(home, "taste", "import", name, home / f"{name}.csv")
    paths = sorted({x for pair in second for x in pair})
    out = _run(home, "cull", "--json", "--dry-run", "--workers", workers, "--taste", name, *paths).stdout
    records = {r["path"]: r for r in map(json.loads, out.splitlines()) if r.get("score") is not None}
    score = {p: r["score"] for p, r in records.items()}
    hits = [1.0 if score[a] > score[b] else 0.5 if score[a] == score[b] else 0.0
            for a, b in second if a in score and b in score]
    if tally is not None:
        from keepers.core.settings import Settings

        s = Settings()  # the temporary home has no settings file: the cull ran with the defaults
        for a, b in ((a, b) for a, b in second if a in score and b in score):
            hold = held(records[a], s) or held(records[b], s)
            tally.update(pairs=1, tied=score[a] == score[b], held=hold, held_wrong=hold and score[a] < score[b])
    return sum(hits) / len(hits)


def measure(data: Path = DATA, workers: int = 2) -> dict:
    out = {}
    with tempfile.TemporaryDirectory(prefix="keepers-taste-") as tmp:  # one catalog: each photo analysed once
        for name, read in (("holidays", holidays), ("flowers", flowers)):
            people = read(data)
            tally = Counter()
            rows = {p: {"cull": person(Path(tmp), p, pairs, workers, tally),
                        "majority": majority(p, pairs[len(pairs) // 2:], people)} for p, pairs in people.items()}
            out[name] = rows
            out[f"{name} pairs"] = dict(tally)  # what decided the second halves' pairs, all people together
    return out


def report(m: dict) -> str:
    lines = ["| set | people | `cull --taste` | others' majority | above the majority | at or above 70 % | pairs tied "
             "| pairs with a photo held by a flaw or reject (ordered against the person) |",
             "|---|---|---|---|---|---|---|---|"]
    for name, rows in m.items():
        if not isinstance(rows, dict) or name.endswith(" pairs"):  # keepers eval adds the seconds it took
            continue
        t = m.get(f"{name} pairs") or {}
        n = max(1, t.get("pairs", 0))
        why = (f" | {100 * t.get('tied', 0) / n:.1f} % | {100 * t.get('held', 0) / n:.1f} % "
               f"({100 * t.get('held_wrong', 0) / n:.1f} %)") if t else " | – | –"
        c = [r["cull"] for r in rows.values()]
        j = [r["majority"] for r in rows.values()]
        lines.append(f"| {name} | {len(rows)} | {100 * sum(c) / len(c):.1f} % | {100 * sum(j) / len(j):.1f} % | "
                     f"{sum(r['cull'] > r['majority'] for r in rows.values())} | {sum(x >= 0.7 for x in c)}{why} |")
    return "\n".join(lines)
