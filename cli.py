"""The `keepers` command line.

Exit codes: 0 every photo was judged; 1 the run finished but some files could not be read or written (each is
listed); 2 usage error or a problem to fix first (missing exiftool, unreadable catalog); 130 interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import warnings
from pathlib import Path

from keepers import __version__
from keepers.core.errors import KeepersError, UserError

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--catalog", type=Path, help="catalog file (default: the platform data dir)")
    p.add_argument("--config", type=Path, help="config file (default: <config dir>/keepers/config.toml)")
    p.add_argument("--workers", type=int, help="analysis processes (default: one per core)")
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")


# modules that add sub-commands: each has `register(subparsers, common)` and sets `func(args, settings) -> int`
COMMAND_MODULES = ("keepers.sidecar.cli", "keepers.core.commands.models", "keepers.core.commands.similar", "keepers.core.lab.eval", "keepers.plugins.cli")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="keepers", description="Cull, rate and tag photos, locally.")
    ap.add_argument("--version", action="version", version=f"keepers {__version__}")
    sub = ap.add_subparsers(dest="command", required=True)

    c = sub.add_parser("cull", help="judge every photo under PATH and write ratings/keywords to XMP sidecars")
    c.add_argument("paths", nargs="+", metavar="PATH")
    c.add_argument("--json", action="store_true", help="print JSON Lines, one object per photo, instead of a table")
    c.add_argument("--dry-run", action="store_true", help="judge, but write no sidecar")
    c.add_argument("--rejects", action="store_true",
                   help="list only the rejected photos (the default above 60 photos; --json lists every photo)")
    c.add_argument("--overwrite-ratings", action="store_true", default=None,
                   help="replace star ratings set by the photographer or another tool")
    c.add_argument("--nsfw", action="store_true", default=None,
                   help="also score each photo for nudity (`nsfw` in --json; costs ~25 ms a photo per core)")
    c.add_argument("--host", help="whose sidecar conventions: generic (default), lightroom, darktable, digikam, "
                   "or a plugin's; see `keepers hosts`")
    _common(c)

    s = sub.add_parser("show", help="print one photo's verdict and reasons")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    s.add_argument("--nsfw", action="store_true", default=None, help="include the nudity score")
    _common(s)

    so = sub.add_parser("sort", help="file a folder's photos into good/ and bad/ sub-folders")
    so.add_argument("path")
    mode = so.add_mutually_exclusive_group()
    mode.add_argument("--copy", dest="mode", action="store_const", const="copy", help="copy (default)")
    mode.add_argument("--move", dest="mode", action="store_const", const="move", help="move")
    mode.add_argument("--link", dest="mode", action="store_const", const="link", help="hard-link (symlink across disks)")
    so.add_argument("--undo", action="store_true", help="undo the last sort of PATH")
    so.add_argument("--dry-run", action="store_true", help="say what would be filed where, touch nothing")
    _common(so)

    d = sub.add_parser("demo", help="build a demo folder from bundled sample photos and cull it")
    d.add_argument("folder", nargs="?", default="demo-photos", type=Path)
    d.add_argument("--json", action="store_true")
    _common(d)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:  # the module exists but a dependency of it is missing: say so
                raise
            continue
        module.register(sub, _common)
    return ap


def settings_from(args):
    from keepers.core.settings import Settings

    return Settings.load(args.config, catalog=args.catalog, workers=args.workers,
                         overwrite_ratings=getattr(args, "overwrite_ratings", None), host=getattr(args, "host", None),
                         nsfw=getattr(args, "nsfw", None))


def _quiet_warnings() -> None:
    """No Python warnings on a photographer's terminal (numpy's about an empty or flat image, say): the photo's
    problem is reported as its error or reason. -v, `-W` or PYTHONWARNINGS show them, as set."""
    if sys.warnoptions or os.environ.get("PYTHONWARNINGS"):
        return
    warnings.simplefilter("ignore")
    os.environ["PYTHONWARNINGS"] = "ignore"  # the analysis processes start fresh interpreters that read it


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        _quiet_warnings()
    func = getattr(args, "func", None)
    if func is None:  # the built-in commands; imported only when used, they pull in the whole pipeline
        from keepers.core.commands import cull as commands

        func = getattr(commands, args.command)
    try:
        return func(args, settings_from(args))
    except UserError as e:
        print(f"keepers: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeepersError as e:
        print(f"keepers: {e}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("keepers: interrupted; what was analysed is kept, run again to finish", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
