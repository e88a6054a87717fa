"""`keepers cull` and `keepers show`: judge photos and write their sidecars, or print one photo's judgement.

Every `keepers` run imports this module to build its parser (the `keepers_commands` hook below), so the pipeline,
the catalog and rich are imported inside the functions that use them: `keepers --help` stays quick.

The commands' parts: `cull_run.py` (the run and each photo's --json record), `cull_summary.py` (the table and the
summary) and `cull_show.py` (what `show` prints: the reasons, the last cull's judgement)."""

from __future__ import annotations

import json
import os
import sys

from keepers.core.commands.cull_run import _reported_by_us, record, run_cull
from keepers.core.commands.cull_show import _as_culled, _hanging, _reasons
from keepers.core.commands.cull_summary import _stars, summary
from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl

# what other modules import from here (core/commands/review.py, sort.py, sidecar/, core/lab/, tests), from the
# modules that now hold it
from keepers.core.commands.cull_run import STAGES, _catalog, _stderr, error_of  # noqa: F401
from keepers.core.commands.cull_summary import DOUBTED, FULL_TABLE, bad_for, points, why  # noqa: F401


def cull(args, settings) -> int:
    from keepers.core.io.discover import is_video

    with _reported_by_us(getattr(args, "verbose", False)):
        results, stats = run_cull(args.paths, settings, dry_run=args.dry_run, quiet=args.json)
    # a summary of zeros alone looked like an empty shoot: the wrong folder, or photos in a format not read, is said
    # (on stderr: stdout may be --json); clips named one by one were said skipped already, with what judges them
    if not results and not all(is_video(p) and os.path.isfile(p) for p in args.paths):
        from keepers.core.io.loader_open import SUPPORTED

        print(f"keepers: no photos found in {', '.join(map(str, args.paths))} ({SUPPORTED})", file=sys.stderr)
    if args.json:
        for r in results:
            print(json.dumps(record(r), ensure_ascii=False), flush=False)
    else:
        summary(results, stats, dry_run=args.dry_run, rejects_only=getattr(args, "rejects", False))
    return 1 if stats["errors"] else 0


def _clip_judged(path: str, settings) -> str:
    """Where a clip judged by `keepers watch` or the daemon keeps its judgement, for show to point at: it sent the
    user to watch a clip watch had judged already."""
    from keepers.core.errors import KeepersError
    from keepers.core.io.hosts import adapter_for
    from keepers.core.io.xmp import read_sidecar

    try:
        side = adapter_for(settings).sidecar(path)
        got = read_sidecar(side) if side.exists() else {}
    except (KeepersError, OSError):
        return ""
    if got.get("judged_by") != "video" or got.get("score") is None:
        return ""
    stars = "rejected" if got["stars"] == -1 else f"{got['stars']} stars"
    return f"; its judgement is in {side.name}: score {got['score']:.1f}, {got['verdict']}, {stars}"


def show(args, settings) -> int:
    from rich.console import Console

    from keepers.core.io.discover import VIDEO_SKIPPED, is_video

    path = os.path.abspath(args.file)
    if not os.path.exists(path):
        raise UserError(f"no such file: {args.file}")
    if is_video(path):
        raise UserError(f"{args.file} is {VIDEO_SKIPPED}{_clip_judged(path, settings)}")
    if os.path.isdir(path):  # it showed the folder's first photo, as if that were the folder's verdict
        raise UserError(f"{args.file} is a folder: `keepers show` takes one photo; `keepers cull {args.file}` judges "
                        "a folder")
    # judged through the same path as `cull` (the catalog answers when nothing changed), but nothing is written
    results, _ = run_cull([path], settings, dry_run=True, quiet=True)
    r = next((r for r in results if path in r.photo.files), results[0] if results else None)
    if r is None:
        raise UserError(f"{args.file} is not a photo Keepers can read")
    r.write_error = None  # show writes nothing: a sidecar that could not be written (a read-only card) is no error
    alone = not _as_culled(r, settings)
    if args.json:
        rec = record(r, writing=False)  # the one record shape, the error as cull gives it
        rec["judged_alone"] = alone
        rec["meta"] = r.meta.as_dict() if r.meta else {}
        rec["findings"] = {f.analyzer: {"score": f.score, "features": f.features} for f in r.findings}
        print(json.dumps(rec, ensure_ascii=False, default=str))
        return 1 if r.error else 0
    out = Console()
    if r.error:
        out.print(f"[red]{r.photo.path}[/red]: {r.error}", highlight=False)
        return 1
    v = r.verdict
    out.print(f"[bold]{r.photo.path}[/bold]", highlight=False)
    if r.meta:
        m = r.meta
        facts = [m.model, m.lens, m.exposure_time and f"1/{round(1 / m.exposure_time)} s" if m.exposure_time else None,
                 m.f_number and f"f/{m.f_number:g}", m.iso and f"ISO {m.iso:g}", m.capture_time]
        if any(facts):  # a photo without camera metadata gets no empty line
            out.print("  " + " · ".join(str(x) for x in facts if x), highlight=False)
    colour = "green" if v.verdict == "good" else "red"
    out.print(f"  score [bold]{v.score:.1f}[/bold]/10 · [{colour}]{v.verdict}[/{colour}] "
              f"(confidence {v.confidence:.0%}) · {_stars(v)} · judged by {v.judged_by}")
    _reasons(out, v)
    if v.keywords:
        _hanging(out, "  keywords: ", ", ".join(v.keywords))
    if v.group:
        out.print(f"  group {v.group}" + (" (pick of its group)" if v.pick else ""))
    if alone:
        out.print(f"  [dim]judged alone: bursts and duplicates are found by `keepers cull "
                  f"{os.path.dirname(r.photo.path)}`[/dim]", highlight=False)
    return 0


def host_options(p) -> None:
    """How a command that culls (cull, sort, review) writes its sidecars. A sort or review without the --host its
    cull had rewrote the sidecars in the generic conventions: a second sidecar beside a RAW+JPEG pair's Lightroom one,
    xmp:Label over darktable's labels."""
    p.add_argument("--host", help="whose sidecar conventions: generic (default), lightroom, darktable, digikam, "
                   "or a plugin's; see `keepers hosts` (`host` in config.toml sets it for every command)")
    p.add_argument("--embed", action="store_true", default=None,
                   help="for files the host reads no sidecar for (Lightroom: JPEG, TIFF, PSD, PNG, DNG), write the "
                   "verdict into the file's own XMP instead of leaving it to the host's plug-in")
    p.add_argument("--keep-originals", action="store_true", default=None,
                   help="with --embed, keep each file as it was, as <name>_original")


@hookimpl
def keepers_commands(subparsers, common):
    c = subparsers.add_parser("cull", help="judge every photo under PATH and write ratings/keywords to XMP sidecars")
    c.add_argument("paths", nargs="+", metavar="PATH")
    c.add_argument("--json", action="store_true", help="print JSON Lines, one object per photo, instead of a table")
    c.add_argument("--dry-run", action="store_true", help="judge, but write no sidecar")
    c.add_argument("--rejects", action="store_true",
                   help="list only the rejected photos (the default above 60 photos; --json lists every photo)")
    c.add_argument("--overwrite-ratings", action="store_true", default=None,
                   help="replace star ratings set by the photographer or another tool")
    c.add_argument("--nsfw", action="store_true", default=None,
                   help="also score each photo for nudity (`nsfw` in --json; costs ~25 ms a photo per core)")
    host_options(c)
    c.add_argument("--taste", metavar="PROFILE", help="add your taste profile's personal term (keepers taste)")
    common(c)
    c.set_defaults(func=cull)

    s = subparsers.add_parser("show", help="print one photo's verdict and reasons")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    s.add_argument("--nsfw", action="store_true", default=None, help="include the nudity score")
    common(s)
    s.set_defaults(func=show)
