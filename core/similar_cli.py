"""`keepers similar PHOTO` and `keepers search "text"`: find photos in the catalog by example or by words."""

from __future__ import annotations

import json
import os

from keepers.core.errors import UserError


def _open(settings):
    from keepers.core.catalog import Catalog

    if not os.path.exists(settings.catalog):
        raise UserError(f"no catalog at {settings.catalog}; run `keepers cull` on a folder first")
    return Catalog(settings.catalog)


def _paths(catalog, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = catalog.db.execute(f"SELECT id, path FROM photos WHERE id IN ({','.join('?' * len(ids))})", ids)
    return {r[0]: r[1] for r in rows}


def _print(catalog, hits: list[tuple[int, float]], as_json: bool, label: str) -> int:
    paths = _paths(catalog, [i for i, _ in hits])
    if as_json:
        for pid, d in hits:
            print(json.dumps({"path": paths.get(pid), "photo_id": pid, label: d}))
    elif not hits:
        print("nothing found (are the photos analysed? run `keepers cull` on their folder)")
    else:
        for rank, (pid, d) in enumerate(hits, 1):
            print(f"{rank:3d}  {d:.3f}  {paths.get(pid)}")
    return 0


def similar(args, settings) -> int:
    from keepers.core import similarity

    catalog = _open(settings)
    try:
        row = catalog.photo_row(os.path.abspath(args.photo)) or catalog.photo_row(os.path.realpath(args.photo))
        if row is None:
            raise UserError(f"{args.photo} is not in the catalog; run `keepers cull` on its folder first")
        return _print(catalog, similarity.similar(catalog, row["id"], args.k), args.json, "distance")
    finally:
        catalog.close()


def search(args, settings) -> int:
    from keepers.core import similarity

    catalog = _open(settings)
    try:
        return _print(catalog, similarity.search_text(catalog, args.text, args.k), args.json, "distance")
    finally:
        catalog.close()


def register(sub, common) -> None:
    p = sub.add_parser("similar", help="list the photos most like PHOTO (by image content)")
    p.add_argument("photo", metavar="PHOTO")
    p.add_argument("-k", type=int, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    common(p)
    p.set_defaults(func=similar)
    s = sub.add_parser("search", help="find photos by words, e.g. keepers search \"dog on a beach\"")
    s.add_argument("text")
    s.add_argument("-k", type=int, default=10, help="how many (default 10)")
    s.add_argument("--json", action="store_true", help="one JSON object per line")
    common(s)
    s.set_defaults(func=search)
