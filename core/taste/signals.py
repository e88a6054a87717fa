"""Taste signals from Keepers' own records of the photographer's choices, both read read-only:

- the review page's choices (the catalog's `review_choices`): stars become pairs within a folder as imported ratings
  do (core/taste/ratings.py: a higher-starred photo over a lower one, a reject below every rated photo, a pick half
  a star above its stars). Only stars given in the page count (`rated`): where only a flag or label was given, the
  page keeps the stars it showed, maybe Keepers' own (in a catalog from before `rated`, stars equal to Keepers' are
  left out). A burst's pick chosen in the page (a photo of a group flagged pick) is preferred over each other frame
  of its burst not also picked;
- what a host sent to the daemon (POST /v1/signals: picks, rejects, stars; its store beside the catalog), by
  application: the same pairs within a folder. Labels and keywords are no preference and are left out.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from keepers.core.errors import UserError
from keepers.core.taste import ratings


def _open(path) -> sqlite3.Connection | None:
    """A read-only connection (None where the file is not there: nothing was recorded yet)."""
    if not Path(path).is_file():
        return None
    return sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=30)


def _under(path: str, roots) -> bool:
    return not roots or any(path == r or path.startswith(r.rstrip(os.sep) + os.sep) for r in roots)


def _roots(paths) -> list[str]:
    return [os.path.realpath(p) for p in paths or []]


def from_review(catalog, paths=None) -> list[tuple[str, str]]:
    """(preferred, other) from the review page's choices of photos under `paths` (all: none given)."""
    con, roots = _open(catalog), _roots(paths)
    if con is None:
        return []
    try:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'review_choices'").fetchone():
            return []
        has_rated = any(r[1] == "rated" for r in con.execute("PRAGMA table_info(review_choices)"))
        rows = con.execute(f"SELECT p.path, c.rating, c.flag, c.keepers_stars, v.grp, "
                           f"{'c.rated' if has_rated else 'NULL'} FROM review_choices c JOIN photos p ON "
                           "p.id = c.photo_id LEFT JOIN verdicts v ON v.photo_id = c.photo_id").fetchall()
        rows = [r for r in rows if _under(os.path.realpath(r[0]), roots)]
        picked = {r[0] for r in rows if r[2] == "pick"}
        values, out = {}, []
        for path, rating, flag, keepers_stars, grp, rated in rows:
            if rated is None:  # a catalog from before `rated`: stars equal to Keepers' may be only shown ones
                shown = None if keepers_stars is None else max(0, keepers_stars)  # Keepers' reject shows 0 stars
                rated = rating != shown
            own = rating if rated else None
            v = ratings.value(own, flag == "reject", 1 if flag == "pick" and own is not None else None)
            if v is not None:
                values[path] = v
            if flag == "pick" and grp:
                frames = con.execute("SELECT p.path FROM verdicts v JOIN photos p ON p.id = v.photo_id "
                                     "WHERE v.grp = ?", (grp,)).fetchall()
                out += [(path, f) for (f,) in frames if f not in picked]
    finally:
        con.close()
    return sorted(set(out + ratings.pairs(values)))


def from_daemon(store, app: str | None = None) -> tuple[dict[str, float], list[str]]:
    """photo path -> value from the signals hosts sent the daemon (of application `app`; all: None), and the
    applications that sent any."""
    con = _open(store)
    if con is None:
        raise UserError(f"no daemon store at {store}: no signals were sent (keepers serve, then your program's "
                        "\"Send my ratings and flags to Keepers\")")
    try:
        rows = con.execute("SELECT a.name, s.path, s.kind, s.value FROM signals s JOIN applications a "
                           "ON a.id = s.app_id ORDER BY s.id").fetchall()
    finally:
        con.close()
    apps = sorted({r[0] for r in rows})
    if app is not None and app not in apps:
        raise UserError(f"no signals from an application {app!r} (those that sent any: {', '.join(apps) or 'none'})")
    got: dict[str, dict] = {}
    for name, path, kind, val in rows:
        if app is None or name == app:
            d = got.setdefault(path, {})
            if kind == "rating":
                d["rating"] = int(val)
            elif kind in ("pick", "reject"):
                d[kind] = True
    values = {}
    for path, d in got.items():
        v = ratings.value(d.get("rating"), d.get("reject"), 1 if d.get("pick") else None)
        if v is not None:
            values[os.path.normpath(path)] = v
    return values, apps
