"""Teaching a profile: choices read from a CSV (`preferred,other`), merged into the profile's signals (a source's
earlier choices taken back where it sends them again), and the model retrained on them. `keepers taste import`
and the daemon's background trainer (sidecar/taste.py) both go through here; the model's maths are
keepers.core.taste.model's."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from threadpoolctl import threadpool_limits

from keepers.core.errors import UserError


def parse_choices(text: str, base: str | None, where: str = "the CSV") -> list[tuple[str, str]]:
    """(preferred, other) paths from CSV text with the header `preferred,other`; a relative path is relative to
    `base` (None: left relative, for the caller to refuse)."""
    try:
        rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    except csv.Error as e:
        raise UserError(f"cannot read {where}: {e}") from None
    fields = [(h or "").strip().lower() for h in (rows[0].keys() if rows else [])]
    if rows and not {"preferred", "other"} <= set(fields):
        raise UserError(f"{where}: the header must be `preferred,other` (it is {','.join(fields)})")
    out = []
    for r in rows:
        r = {k.strip().lower(): (v or "").strip() for k, v in r.items() if isinstance(k, str) and isinstance(v, str)}
        if r.get("preferred") and r.get("other"):
            pair = [os.path.expanduser(r[k]) if base is not None else r[k] for k in ("preferred", "other")]
            out.append(tuple(str((Path(base) / p).resolve()) if base is not None else p for p in pair))
    return out


def read_choices(path) -> list[tuple[str, str]]:
    """(preferred, other) absolute paths from a CSV file; a relative path is relative to the CSV's folder."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            text = f.read()
    except UnicodeDecodeError:  # a photo or a spreadsheet named by mistake: said in words, not as the codec's error
        raise UserError(f"{path} is not a CSV of choices (a text file with the header preferred,other)") from None
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None
    return parse_choices(text, str(Path(path).resolve().parent), str(path))


def _under(p: str, roots) -> bool:
    return any(p == r or p.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def merge(profile, choices: list[tuple[str, str]], source: str, replace=False) -> tuple[list, set]:
    """Add `choices` from `source` to the profile's signals. `replace`: the profile's signals from `source` go first
    (True: all of them; a list of folders: those of photos under them), so a choice changed since counts as it is
    now. Returns (the choices added, the pairs taken out before adding)."""
    before: set = set()
    if replace:
        def gone(s):
            inside = replace is True or all(_under(os.path.realpath(s[k]), replace) for k in ("preferred", "other"))
            return s.get("source") == source and inside
        before = {(s["preferred"], s["other"]) for s in profile.signals if gone(s)}
        profile.signals = [s for s in profile.signals if not gone(s)]
    known = {(s["preferred"], s["other"]) for s in profile.signals}
    new = [c for c in choices if c not in known]
    profile.signals += [{"preferred": a, "other": b, "source": source} for a, b in new]
    return new, before


def train(profile, settings, catalog, analyse=None) -> tuple[int, list[str]]:
    """Retrain `profile` on its signals (the photos read through the catalog, by `analyse(paths, settings,
    catalog)`: keepers.core.taste.features.analyse unless given); returns (signals used, paths that could not be
    read)."""
    from keepers.core.taste import explain, model
    from keepers.core.taste.features import analyse as dry_run

    paths = sorted({p for s in profile.signals for p in (s["preferred"], s["other"]) if os.path.isfile(p)})
    photos = (analyse or dry_run)(paths, settings, catalog) if paths else {}
    pairs = [(photos[s["preferred"]], photos[s["other"]]) for s in profile.signals
             if s["preferred"] in photos and s["other"] in photos]
    missing = sorted({p for s in profile.signals for p in (s["preferred"], s["other"]) if p not in photos})
    if len(pairs) < 2:
        profile.model, profile.cv, profile.trained_on, profile.explanation = None, None, 0, []
        return len(pairs), missing
    # numpy's BLAS on one thread: a few hundred choices make small matrices, and on a busy 2-core machine its
    # default thread per core made a fit with its cross-validation 9-21 s instead of 0.6 s (docs/eval.md, Taste)
    with threadpool_limits(limits=1, user_api="blas"):
        profile.model = model.fit(pairs)
        profile.cv = model.cross_validated(pairs)
        seen = list({id(p): p for pair in pairs for p in pair}.values())
        profile.explanation = explain.describe(profile.model, seen)
    profile.trained_on = len(pairs)
    return len(pairs), missing
