"""Are Keepers' bursts the same scene? Pairwise precision and recall of grouping on real labelled photos.

Sets from ../shared/data, each grouped as one shoot under file names that make neighbours of photos that do
not belong together (the way a folder of exports or crops is named):
  eyes    1,600 face crops (CEW closed eyes, UTKFace), each its own subject (but for one photo UTKFace holds
          twice), so nearly every pair grouped is a false one (named as the lead's eyes check names them)
  redeye  4 flash portraits of different people, each with 4-5 red-eye-tool outputs: the outputs are copies of
          their original (one group per portrait); the portraits are sample_1..sample_4, neighbours by name
  bursts  the imagededup copies, every 3rd frame of the bedroom video, and every clip's frames at 1 s
          (group = clip; frames far apart in a clip may differ a lot, so recall there is bounded by the data)
  lead    the set ../shared/tools/checks/run groups builds (its F1 is the figure that must not fall)
A pair is positive when both photos share a true group, predicted positive when `group()` puts them together.
Photos are analysed once (embedding, group features, faces, sharpness, as the pipeline does) and cached; they are
not judged (no scores), which changes picks but no group.

    .venv/bin/python tools/group_precision.py [eyes redeye bursts lead] [--false 10] [--scene-de X]
                                              [--cache FILE | --no-cache]
`--scene-de inf` links neighbours as before the scene check (on looks alone); ~2 min to analyse the first time.
"""

from __future__ import annotations

import argparse
import csv
import os
import pickle
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
SETS = ("eyes", "redeye", "bursts", "lead")
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "keepers" / "group_precision.pkl"
# UTKFace holds one photo twice (the same boy, pixel correlation 0.99): one subject, rightly grouped as copies
SAME_FACE = {"open_assumed/face_2360.jpg": "open_assumed/face_137.jpg"}


def photo_set(name: str) -> list[tuple[str, Path, str]]:
    """(key the photo is grouped under, source file, true group) of one set."""
    if name == "eyes":
        with open(DATA / "eyes/labels.csv") as f:
            files = [r["file"] for r in csv.DictReader(f)]
        return [("eyes/" + f.replace("/", "_"), DATA / "eyes" / f, SAME_FACE.get(f, f)) for f in files]
    if name == "redeye":
        out = []
        for p in sorted((DATA / "redeye").glob("*.jpg")):
            parts = p.stem.split("_")  # sample_2_180 -> sample_2
            out.append(("redeye/" + p.name, p, "_".join(parts[:2])))
        return out
    if name == "bursts":
        out = []
        with open(DATA / "bursts/imagededup/labels.csv") as f:
            for r in csv.DictReader(f):
                src = DATA / "bursts/imagededup" / r["file"]
                out.append((f"bursts/dd_{r['file'].replace('/', '_')}", src, r["group"]))
        out += [(f"bursts/bedroom_{p.name}", p, "bedroom") for p in sorted((DATA / "bursts/bedroom").iterdir())]
        with open(DATA / "bursts/clips/labels.csv") as f:
            for r in csv.DictReader(f):
                src = DATA / "bursts/clips" / r["file"]
                out.append((f"bursts/{src.parent.name}_{src.name}", src, r["group"]))
        return out
    if name == "lead":  # as ../shared/tools/checks/run builds its groups set
        out, seen = [], set()
        with open(DATA / "bursts/imagededup/labels.csv") as f:
            for r in csv.DictReader(f):
                src = DATA / "bursts/imagededup" / r["file"]
                key = "lead/dd_" + src.name
                if key not in seen:  # the check copies base_images/ then mixed_images/ to one name: the last wins
                    seen.add(key)
                    out.append((key, src, r["group"]))
                else:
                    out = [(k, src if k == key else s, g) for k, s, g in out]
        out += [(f"lead/bedroom_{p.name}", p, "bedroom") for p in sorted((DATA / "bursts/bedroom").iterdir())[:20]]
        for clip in sorted((DATA / "bursts/clips").iterdir()):
            if clip.is_dir() and clip.name != "bedroom":
                out += [(f"lead/{clip.name}_{p.name}", p, clip.name) for p in sorted(clip.iterdir())[:2]]
        return out
    raise ValueError(name)


def analyse(paths: list[Path], cache_file: Path | None) -> dict[Path, object]:
    """Source file -> pipeline Result (findings of the analyzers grouping reads), from the cache where the file
    and the analyzer versions are unchanged."""
    from keepers.core.judge import group as G
    from keepers.core.analyzers.faces import FacesAnalyzer
    from keepers.core.analyzers.sharpness import SharpnessAnalyzer
    from keepers.core.inference.embedding import EmbeddingAnalyzer
    from keepers.core.pipeline import Result, analyze_photo
    from keepers.core.settings import Settings
    from keepers.core.types import Photo

    analyzers = [EmbeddingAnalyzer(), SharpnessAnalyzer(), FacesAnalyzer(), G.GroupFeatures()]
    versions = tuple((a.name, a.version) for a in analyzers)
    cache = {}
    if cache_file and cache_file.is_file():
        try:
            with open(cache_file, "rb") as f:
                cache = pickle.load(f)
        except Exception:  # written by an older Keepers whose classes have moved or changed: analyse afresh
            cache = {}
    settings, out, fresh = Settings(), {}, 0
    start = time.perf_counter()
    for p in dict.fromkeys(paths):
        st = p.stat()
        stamp = (st.st_size, st.st_mtime_ns, versions)
        hit = cache.get(str(p))
        if hit is None or hit[0] != stamp:
            o = analyze_photo(Photo(str(p), "jpeg"), settings, analyzers)
            hit = cache[str(p)] = (stamp, Result(o["photo"], meta=o["meta"], findings=o["findings"], error=o["error"]))
            fresh += 1
            if fresh % 100 == 0:
                print(f"  analysed {fresh} photos ({time.perf_counter() - start:.0f} s)", file=sys.stderr)
        out[p] = hit[1]
    if cache_file and fresh:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        with open(cache_file, "wb") as f:
            pickle.dump(cache, f)
    return out


def measure(rows: list[tuple[str, Path, str]], results: dict[Path, object], show_false: int = 0) -> dict:
    """Group the set as one shoot and count true, false and missed pairs."""
    from keepers.core.judge import group as G

    items, truth = [], {}
    for key, src, label in rows:
        r = results[src]
        truth[key] = label  # an unreadable photo is in no group: its true pairs count as missed (as the lead's check)
        if not r.error:
            it = G.group_input(r)
            it.key = key
            items.append(it)
    groups = G.group(items)
    pairs = lambda n: n * (n - 1) // 2  # noqa: E731
    predicted = sum(pairs(len(g.members)) for g in groups)
    tp = sum(pairs(n) for g in groups for n in Counter(truth[k] for k in g.members).values())
    positive = sum(pairs(n) for n in Counter(truth.values()).values())
    mixed = [g for g in groups if len({truth[k] for k in g.members}) > 1]
    for g in mixed[:show_false]:
        print(f"  mixed {g.kind}: " + ", ".join(f"{os.path.basename(k)} ({truth[k]})" for k in g.members))
    return {"photos": len(truth), "left_out": len(truth) - len(items), "groups": len(groups), "mixed": len(mixed),
            "predicted": predicted, "tp": tp, "fp": predicted - tp, "fn": positive - tp, "positive": positive,
            "precision": tp / predicted if predicted else None, "recall": tp / positive if positive else None}


def line(name: str, m: dict) -> str:
    p = "-" if m["precision"] is None else f"{m['precision']:.3f}"
    r = "-" if m["recall"] is None else f"{m['recall']:.3f}"
    f1 = ""
    if m["precision"] and m["recall"]:
        f1 = f" F1 {2 * m['precision'] * m['recall'] / (m['precision'] + m['recall']):.3f}"
    out = (f"{name:7s} {m['photos']:5d} photos, {m['groups']:3d} groups ({m['mixed']} mixing true groups): "
           f"pairwise precision {p} ({m['tp']} true / {m['fp']} false pairs), recall {r} "
           f"({m['fn']} of {m['positive']} true pairs missed){f1}")
    return out + (f"; {m['left_out']} unreadable (in no group)" if m["left_out"] else "")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("sets", nargs="*", help=f"any of {', '.join(SETS)} (default: all)")
    ap.add_argument("--false", type=int, default=0, help="print up to N groups that mix true groups, per set")
    ap.add_argument("--scene-de", type=float, help="shoot.SCENE_DE to measure with (inf: no scene check)")
    ap.add_argument("--cache", type=Path, default=CACHE, help=f"analysis cache (default {CACHE})")
    ap.add_argument("--no-cache", action="store_true")
    a = ap.parse_args(argv)
    if set(a.sets) - set(SETS):
        ap.error(f"unknown set(s) {', '.join(sorted(set(a.sets) - set(SETS)))}; sets are {', '.join(SETS)}")
    if not DATA.is_dir():
        print(f"needs the development data in {DATA}", file=sys.stderr)
        return 2
    if a.scene_de is not None:
        from keepers.core.judge import shoot

        shoot.SCENE_DE = a.scene_de  # read where frames are compared (Shoot.same_scene)
    sets = {s: photo_set(s) for s in (a.sets or SETS)}
    results = analyse([src for rows in sets.values() for _, src, _ in rows], None if a.no_cache else a.cache)
    for name, rows in sets.items():
        print(line(name, measure(rows, results, a.false)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
