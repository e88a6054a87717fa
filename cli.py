"""The `keepers` command line.

Exit codes: 0 every photo was judged; 1 the run finished but some files could not be read or written (each is
listed); 2 usage error or a problem to fix first (missing exiftool, unreadable catalog); 130 interrupted.
"""

from __future__ import annotations

import argparse
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


def _add_commands(sub) -> None:
    """Every plugin's sub-commands (the `keepers_commands` hook), built-in or third-party alike. pluggy calls the
    last-registered plugin first; `keepers --help` lists them in the order they were registered instead (the
    built-ins in keepers.core.pm.DEFAULT_PLUGINS' order, then third-party plugins), so each plugin is called on its
    own, in that order."""
    from keepers.core.pm import manager  # imports every built-in plugin: the analyzers too (numpy, OpenCV)

    plugins = [impl.plugin for impl in manager.hook.keepers_commands.get_hookimpls()]
    for plugin in plugins:
        others = [p for p in plugins if p is not plugin]
        manager.subset_hook_caller("keepers_commands", remove_plugins=others)(subparsers=sub, common=_common)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="keepers", description="Cull, rate and tag photos, locally.")
    ap.add_argument("--version", action="version", version=f"keepers {__version__}")
    ap.set_defaults(catalog=None, config=None, workers=None, verbose=False)  # for a plugin command without _common
    _add_commands(ap.add_subparsers(dest="command", required=True))
    return ap


def settings_from(args):
    from keepers.core.settings import Settings

    return Settings.load(args.config, catalog=args.catalog, workers=args.workers,
                         overwrite_ratings=getattr(args, "overwrite_ratings", None), host=getattr(args, "host", None),
                         nsfw=getattr(args, "nsfw", None), embed=getattr(args, "embed", None),
                         keep_originals=getattr(args, "keep_originals", None), taste=getattr(args, "taste", None))


def _quiet_warnings() -> None:
    """No Python warnings on a photographer's terminal (numpy's about an empty or flat image, say): the photo's
    problem is reported as its error or reason. -v, `-W` or PYTHONWARNINGS show them, as set."""
    if sys.warnoptions or os.environ.get("PYTHONWARNINGS"):
        return
    warnings.simplefilter("ignore")
    os.environ["PYTHONWARNINGS"] = "ignore"  # the analysis processes start fresh interpreters that read it


def _early_workers(argv: list[str]) -> None:
    """A cull's analysis workers fork from a warmed server (keepers.core.workers): start it before the parser imports
    every plugin, so both happen at once on two cores, not one after the other (docs/benchmarks.md). Only for a cull
    that may use more than one worker; with one core or `--workers 1` there is no pool, and nothing is started."""
    if not argv or argv[0] != "cull" or (os.cpu_count() or 1) < 2 or "-h" in argv or "--help" in argv:
        return
    if any(a in ("--workers=1", "--workers=0") for a in argv) or any(
            a == "--workers" and b in ("0", "1") for a, b in zip(argv, argv[1:])):
        return
    if "-v" not in argv and "--verbose" not in argv:
        _quiet_warnings()  # before the server starts: the workers inherit its warnings setting
    from keepers.core.workers import start_early

    start_early()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    _early_workers(argv)
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if not args.verbose:
        _quiet_warnings()
    func = getattr(args, "func", None)
    if func is None:  # a plugin's command that set none: said plainly, not as a traceback
        print(f"keepers: the {args.command} command sets no func(args, settings); see keepers.core.hookspecs",
              file=sys.stderr)
        return EXIT_USAGE
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
