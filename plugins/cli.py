"""`keepers import-ratings` (the photographer's own ratings into the catalog) and `keepers hosts` (adapters and
where the Lightroom plugin and darktable script are)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl


def import_ratings(args, settings) -> int:
    from keepers.core.io import exiftool
    from keepers.core.io.catalog import Catalog
    from keepers.plugins import importer

    if not args.paths and not args.digikam_db:
        raise UserError("give folders/photos to read sidecars from, or --digikam-db FILE, or both")
    if not exiftool.available():
        raise UserError(exiftool.INSTALL_HINT)
    missing = [p for p in args.paths if not os.path.lexists(p)]
    if missing:
        raise UserError(f"no such file or folder: {', '.join(missing)}")
    ratings, errors = importer.from_files([os.path.abspath(p) for p in args.paths]) if args.paths else ([], [])
    if args.digikam_db:
        if not Path(args.digikam_db).is_file():
            raise UserError(f"no such digiKam database: {args.digikam_db}")
        under = os.path.abspath(args.paths[0]) if len(args.paths) == 1 and os.path.isdir(args.paths[0]) else None
        ratings += importer.from_digikam(args.digikam_db, under)
    catalog = Catalog(settings.catalog)
    try:
        importer.save(catalog.db, ratings)
    finally:
        catalog.close()
    if args.json:
        for r in ratings:
            print(json.dumps(importer.as_dict(r), ensure_ascii=False))
    else:
        rated = sum(r.rating is not None for r in ratings)
        print(f"imported {len(ratings)} photo record(s) into {settings.catalog}: {rated} rated, "
              f"{sum(bool(r.rejected) for r in ratings)} rejected, {sum(bool(r.keywords) for r in ratings)} with "
              f"keywords, {sum(r.color is not None for r in ratings)} with a colour label")
    for path, msg in errors:
        print(f"error {path}: {msg}", file=__import__("sys").stderr)
    return 1 if errors else 0


def hosts(args, settings) -> int:
    from keepers.core.io.hosts import adapters
    from keepers.plugins import darktable, lightroom

    found = adapters(settings)
    if args.json:
        print(json.dumps({"adapters": {n: {"naming": a.naming, "labels": a.labels, "description": a.description}
                                       for n, a in found.items()},
                          "lightroom_plugin": str(lightroom.PLUGIN_DIR), "darktable_script": str(darktable.SCRIPT)}))
        return 0
    for name, a in sorted(found.items()):
        labels = ", ".join(f"{r}={c}" for r, c in a.labels.items() if c) or "none"
        print(f"{name:10} {a.description}\n{'':10} colour labels: {labels}")
    print(f"\nLightroom Classic plugin: {lightroom.PLUGIN_DIR}  (File > Plug-in Manager > Add)")
    # copied alone, the script never runs: darktable runs only its luarc (or script_manager, which Debian lacks)
    print(f"darktable script:         {darktable.SCRIPT}  (copy to ~/.config/darktable/lua/contrib/, then add the "
          f"line  {darktable.LUARC_LINE}  to ~/.config/darktable/luarc, or start it in script_manager)")
    return 0


@hookimpl
def keepers_commands(subparsers, common):
    p = subparsers.add_parser("import-ratings", help="import your own ratings, labels and keywords (XMP sidecars, "
                              "embedded XMP, digiKam's database) into the catalog, for learning your taste")
    p.add_argument("paths", nargs="*", metavar="PATH", help="photos or folders whose sidecars to read")
    p.add_argument("--digikam-db", type=Path, metavar="FILE", help="digiKam's digikam4.db (opened read-only)")
    p.add_argument("--json", action="store_true", help="print one JSON object per imported photo")
    common(p)
    p.set_defaults(func=import_ratings)

    h = subparsers.add_parser("hosts",
                              help="host adapters (--host) and where the Lightroom plugin and darktable script are")
    h.add_argument("--json", action="store_true")
    common(h)
    h.set_defaults(func=hosts)
