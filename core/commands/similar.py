"""`keepers similar PHOTO` and `keepers search "text"`: find photos in the catalog by example or by words."""

from __future__ import annotations

import json
import os

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl


def _open(settings):
    from keepers.core.io.catalog import Catalog

    if not os.path.exists(settings.catalog):
        raise UserError(f"no catalog at {settings.catalog}; run `keepers cull` on a folder first")
    return Catalog(settings.catalog)


def _rows(catalog, ids: list[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = catalog.db.execute(f"SELECT id, path, content_hash FROM photos WHERE id IN ({','.join('?' * len(ids))})",
                              ids)
    return {r[0]: (r[1], r[2]) for r in rows}


def _distinct(catalog, find, k: int, own_hash: str | None = None) -> list[tuple[int, float, list[str]]]:
    """The k best distinct photos as (photo id, distance, paths of its other copies): one frame filed at several
    paths (a `sort` copy, a backup) is listed once, under its best-ranked path; copies of the query itself are
    not hits. `find(n)` gives the n best hits, every file checked to exist."""
    n = k
    while True:
        hits = find(n)
        rows = _rows(catalog, [i for i, _ in hits])
        out: dict[str, tuple[int, float]] = {}  # each content once, at its best-ranked path
        for pid, d in hits:
            h = rows[pid][1]
            if h != own_hash and h not in out:
                out[h] = (pid, d)
        if len(out) >= k or len(hits) < n:
            best = list(out.items())[:k]
            # every copy of a hit, not only those that ranked among the first n (with -k 1: one of two, or none)
            return [(pid, d, _copies(catalog, h, rows[pid][0])) for h, (pid, d) in best]
        n *= 2


def _copies(catalog, content_hash: str, path: str) -> list[str]:
    rows = catalog.db.execute("SELECT path FROM photos WHERE content_hash = ? ORDER BY path", (content_hash,))
    return [p for (p,) in rows if p != path and os.path.exists(p)]


def _print(catalog, hits: list[tuple[int, float, list[str]]], as_json: bool, label: str) -> int:
    paths = {pid: path for pid, (path, _) in _rows(catalog, [i for i, _, _ in hits]).items()}
    if as_json:
        for pid, d, copies in hits:
            print(json.dumps({"path": paths.get(pid), "photo_id": pid, label: d, "copies": copies}))
    elif not hits:
        print("nothing found (are the photos analysed? run `keepers cull` on their folder)")
    else:
        for rank, (pid, d, copies) in enumerate(hits, 1):
            more = f" and {len(copies) - 2} more" if len(copies) > 2 else ""
            also = f"  (also at {', '.join(copies[:2])}{more})" if copies else ""
            print(f"{rank:3d}  {d:.3f}  {paths.get(pid)}{also}")
    return 0


def similar(args, settings) -> int:
    from keepers.core.io.discover import is_video
    from keepers.core.search import similarity

    catalog = _open(settings)
    try:
        row = catalog.photo_row(os.path.abspath(args.photo)) or catalog.photo_row(os.path.realpath(args.photo))
        if row is None and not os.path.exists(args.photo):
            raise UserError(f"no such file: {args.photo}")
        if os.path.isdir(args.photo):  # it said "not in the catalog; run keepers cull on its folder first"
            raise UserError(f"{args.photo} is a folder: `keepers similar` takes one photo, and lists those like it")
        if row is None and is_video(args.photo):  # a cull skips videos: its hint sent the user round in a circle
            raise UserError(f"{args.photo} is a video: `keepers similar` compares photos; a clip's seconds are judged "
                            "by `keepers watch` and the daemon but not kept in the catalog to compare")
        if row is None:
            raise UserError(f"{args.photo} is not in the catalog; run `keepers cull` on its folder first")
        if row["error"]:  # culled already: another cull would not help, as the old hint said it would
            raise UserError(f"{args.photo} could not be judged ({row['error']}): nothing to compare it with")
        hits = _distinct(catalog, lambda n: similarity.similar(catalog, row["id"], n, check_files=True), args.k,
                         own_hash=row["content_hash"])
        return _print(catalog, hits, args.json, "distance")
    finally:
        catalog.close()


def search(args, settings) -> int:
    from keepers.core.search import similarity

    catalog = _open(settings)
    try:
        hits = _distinct(catalog, lambda n: similarity.search_text(catalog, args.text, n, check_files=True), args.k)
        return _print(catalog, hits, args.json, "distance")
    finally:
        catalog.close()


def _count(text: str) -> int:
    """-k: how many photos, 1 or more (-2 listed every photo in the catalog; 0 said "nothing found")."""
    import argparse

    try:
        k = int(text)
    except ValueError:
        k = 0
    if k < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a count, 1 or more")
    return k


@hookimpl
def keepers_commands(subparsers, common):
    p = subparsers.add_parser("similar", help="list the photos most like PHOTO (by image content)")
    p.add_argument("photo", metavar="PHOTO")
    p.add_argument("-k", type=_count, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    common(p)
    p.set_defaults(func=similar)
    s = subparsers.add_parser("search", help="find photos by words, e.g. keepers search \"dog on a beach\"")
    s.add_argument("text")
    s.add_argument("-k", type=_count, default=10, help="how many (default 10)")
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    common(s)
    s.set_defaults(func=search)
