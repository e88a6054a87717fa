"""`keepers cull` and `keepers show`: judge photos and write their sidecars, or print one photo's judgement.

Every `keepers` run imports this module to build its parser (the `keepers_commands` hook below), so the pipeline,
the catalog and rich are imported inside the functions that use them: `keepers --help` stays quick."""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING

from keepers.core.errors import UserError
from keepers.core.hookspecs import hookimpl

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from keepers.core.io.catalog import Catalog
    from keepers.core.pipeline import Result

STAGES = {"analyze": "Analysing", "write": "Writing sidecars"}


@cache
def _stderr() -> Console:
    from rich.console import Console

    return Console(stderr=True)


def _catalog(settings) -> Catalog:
    from keepers.core.io.catalog import Catalog

    try:
        return Catalog(settings.catalog)
    except Exception as e:
        raise UserError(f"cannot open the catalog {settings.catalog}: {e}") from e


def error_of(r: Result, *, writing: bool = True) -> tuple[str, str] | None:
    """(code, message) of a photo's error, or None. `writing=False`: a sidecar that could not be written is no
    error (nothing was asked to be written)."""
    if r.error:
        if r.error.startswith("not judged"):
            code = "not_judged"  # read, but nothing in it could be judged (too small)
        else:
            code = "read_error" if os.path.lexists(r.photo.path) else "not_found"
        return code, r.error
    if r.write_error and writing:
        return "write_error", r.write_error  # judged: the verdict stands, the sidecar holds what it held
    return None


def record(r: Result, *, writing: bool = True) -> dict:
    """One photo's `--json` record (README: the `--json` contract), as the API's predict and jobs also give it:
    `error` the message (a string, as scripts have always read it), `error_code` a code to switch on."""
    err = error_of(r, writing=writing)
    return {**r.record(), "error": err[1] if err else None, "error_code": err[0] if err else None}


class _OncePerFile(logging.Filter):
    """Each photo's problem is reported once, by the summary or in its --json record: the pipeline's own warning
    for it (a sidecar it could not write) would be the second copy."""

    def filter(self, rec: logging.LogRecord) -> bool:
        return rec.levelno != logging.WARNING


@contextmanager
def _reported_by_us(verbose: bool):
    log = logging.getLogger("keepers.pipeline")
    f = _OncePerFile()
    if not verbose:  # -v shows everything, as it happens
        log.addFilter(f)
    try:
        yield
    finally:
        log.removeFilter(f)


def run_cull(paths, settings, *, dry_run=False, quiet=False) -> tuple[list[Result], dict]:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from keepers.core.io import exiftool
    from keepers.core.pipeline import Cull
    from keepers.core.taste.term import require

    err = _stderr()
    require(settings)  # a taste profile named but gone: one line, before any work (not an error per photo)
    if not exiftool.available():
        raise UserError(exiftool.INSTALL_HINT)
    missing = [p for p in paths if not os.path.lexists(p)]
    if missing and len(missing) == len(paths):
        raise UserError(f"no such file or folder: {', '.join(map(str, missing))}")
    catalog = _catalog(settings)
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=err, transient=True, disable=quiet or not err.is_terminal) as bar:
        tasks: dict[str, int] = {}

        def progress(stage, done, total):
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES.get(stage, stage), total=total)
            bar.update(tasks[stage], completed=done, total=total)

        cull = Cull(settings, catalog, dry_run=dry_run, progress=progress)
        results = cull.run([os.path.abspath(p) for p in paths])
    catalog.close()
    if cull.skipped:  # on stderr: stdout may be --json
        names = ", ".join(os.path.basename(p) for p, _ in cull.skipped[:5]) + (", ..." if len(cull.skipped) > 5 else "")
        err.print(f"skipped {len(cull.skipped)} video(s) ({names}): {cull.skipped[0][1]}", highlight=False,
                  soft_wrap=True)
    return results, cull.stats


def cull(args, settings) -> int:
    with _reported_by_us(getattr(args, "verbose", False)):
        results, stats = run_cull(args.paths, settings, dry_run=args.dry_run, quiet=args.json)
    if args.json:
        for r in results:
            print(json.dumps(record(r), ensure_ascii=False), flush=False)
    else:
        summary(results, stats, dry_run=args.dry_run, rejects_only=getattr(args, "rejects", False))
    return 1 if stats["errors"] else 0


def _stars(v) -> str:
    return "rejected" if v.stars == -1 else ("★" * v.stars or "–")


FULL_TABLE = 60  # above this many photos the table lists the rejects only (--json lists every photo)


def _photo_table(title: str, rows: list[Result]) -> Table:
    from rich.table import Table

    t = Table(title=title, show_lines=False)
    for col in ("photo", "score", "stars", "verdict", "why"):
        t.add_column(col, overflow="fold")
    for r in rows:
        v = r.verdict
        t.add_row(os.path.basename(r.photo.path), f"{v.score:.1f}", _stars(v), v.verdict, why(v))
    return t


def why(v) -> str:
    """The table's why: the first two reasons a photographer reads (core/judge/flaws.shown: what moved the score
    first, its points beside it; on a keeper, no flaw that cost nothing). It showed the first two reasons whatever
    they cost: a keeper scored 9.4 read "Backlit: the subject is much darker than the bright background"."""
    from keepers.core.judge.texts import plain

    moved, measured = _listed(v)  # a flaw not charged is no why, unless nothing else is said
    said = [(f"{points(x.cost)} " if points(x.cost) != "·" else "") + plain(x, code=False) for x in moved[:2]]
    said = said or [f"{plain(x, code=False)} (not charged)" for x in measured[:2]]
    return "; ".join(said) or ("no flaw charged" if v.reasons else "no flaw found")


def _listed(v) -> tuple[list, list]:
    """A verdict's reasons as a photographer reads them (core/judge/flaws.shown): (what moved the score, first;
    the flaws measured and not charged, listed only where the photo is not kept)."""
    from keepers.core.judge.flaws import MEASURED, role, shown

    listed = shown(v.reasons, v.verdict == "good")
    return [x for x in listed if role(x) != MEASURED], [x for x in listed if role(x) == MEASURED]


def summary(results: list[Result], stats: dict, *, dry_run: bool = False, out: Console | None = None,
            rejects_only: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    out = out or Console()
    judged = [r for r in results if r.verdict]
    bad = [r for r in judged if r.verdict.verdict != "good"]
    rejected = [r for r in judged if r.verdict.stars == -1]
    if rejects_only or len(judged) > FULL_TABLE:
        if rejected:  # the photos to look at before deleting anything, at any size of shoot
            out.print(_photo_table(f"Rejects ({len(rejected)} of {len(judged)} photos; --json lists every photo)",
                                   rejected))
    elif judged:
        out.print(_photo_table("Photos", judged))
    # the reasons the photos judged bad were judged bad for: a keeper's slight flaw is no reason it was not kept
    reasons = Counter(code for r in bad for code in bad_for(r.verdict.reasons))
    t = Table(title="Summary")
    t.add_column("")
    t.add_column("photos", justify="right")
    t.add_row("keepers (good)", str(len(judged) - len(bad)))
    t.add_row("not keepers (bad)", str(len(bad)))
    t.add_row("  of which rejects", str(len(rejected)))
    for code, n in reasons.most_common():
        t.add_row(f"  reason: {code}" if code != DOUBTED else "  reason: the quality model's doubt", str(n))
    t.add_row("analysed now / from catalog", f"{stats['analyzed']} / {stats['from_catalog']}")
    t.add_row("sidecars " + ("(dry run: none written)" if dry_run else "written"), str(stats["written"]))
    if stats.get("embedded") or (dry_run and any(r.embedded for r in results)):
        t.add_row("written into the photos (--embed" + ("; dry run: none written)" if dry_run else ")"),
                  str(stats["embedded"]))
    if stats.get("via_plugin"):  # no sidecar the host would ignore is written, nor counted
        t.add_row("left to the host's plug-in: it reads the XMP inside these, no sidecar (or --embed)",
                  str(stats["via_plugin"]))
    t.add_row("errors", str(stats["errors"]))
    out.print(t)
    for r in results:
        if r.error or r.write_error:
            why = r.error or r.write_error  # a dry run's says what a real run could not write (core/pipeline.py)
            # one unwrapped line per failure, so it can be grepped and copied
            out.print(f"[red]error[/red] {r.photo.path}: {why}", highlight=False, soft_wrap=True)


DOUBTED = "doubt"  # the summary's row for the photos judged bad on the quality model's doubt (core/judge/flaws.is_doubt)


def bad_for(reasons) -> set[str]:
    """What a photo not kept was judged bad for, once each: the codes of the reasons that took points. A reason
    listed at no cost (clipped shadows in a night scene) is information, not why; a doubt names a flaw its measure
    did not confirm, so it counts as the doubt. A photo none of whose reasons took points counts under its strong ones."""
    from keepers.core.judge.flaws import is_doubt

    took = {DOUBTED if is_doubt(x) else x.code for x in reasons if x.cost >= 0.05}
    return took or {x.code for x in reasons if x.severity >= 0.3}


def show(args, settings) -> int:
    from rich.console import Console

    from keepers.core.io.discover import VIDEO_SKIPPED, is_video

    path = os.path.abspath(args.file)
    if not os.path.exists(path):
        raise UserError(f"no such file: {args.file}")
    if is_video(path):
        raise UserError(f"{args.file} is {VIDEO_SKIPPED}")
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


def _hanging(out, head: str, text: str) -> None:
    """`head` then `text`, a long text wrapped under itself (not under the costs and codes), no trailing spaces."""
    import textwrap

    lines = textwrap.wrap(text, max(20, out.width - len(head)), break_on_hyphens=False) or [""]
    out.print(head + ("\n" + " " * len(head)).join(lines), highlight=False, soft_wrap=True, markup=False)


def points(cost: float) -> str:
    """A reason's points as show prints them (core/judge/texts.points: "-4.8" took, "+2.1" gave, "·" moved nothing)."""
    from keepers.core.judge.texts import points as signed

    return signed(cost)


def _reasons(out, v) -> None:
    """`show`'s reasons (core/judge/flaws.shown): what moved the score first, each with its points and its code,
    then, for a photo not kept, the flaws measured and not charged under their own heading. A keeper's flaw that
    cost nothing is left out (--json keeps it, role "measured"): it read as a flaw the photo had."""
    from keepers.core.judge.texts import plain

    moved, measured = _listed(v)
    if not moved and not measured:
        out.print("  why: " + ("no flaw charged" if v.reasons else "no flaw found"))
        return
    wide = max(len(x.code) for x in moved + measured)
    out.print("  why:" if moved else "  why: no flaw charged")
    for x in moved:
        _hanging(out, f"    {points(x.cost):>5}  {x.code:<{wide}}  ", plain(x))
    if measured:
        out.print("  measured, not charged:")
        for x in measured:
            _hanging(out, f"    {'·':>5}  {x.code:<{wide}}  ", plain(x))


def _as_culled(r: Result, settings) -> bool:
    """Put the judgement the last cull wrote to the photo's sidecar (its group, pick and alternate reason
    included) into `r`, where the photo is unchanged since and judged the same now. False when there is none."""
    if r.verdict is None or r.analyzed or r.photo_id is None:
        return False
    catalog = _catalog(settings)
    try:
        stored = catalog.verdict(r.photo_id)
    finally:
        catalog.close()
    if stored is None or (stored.score, stored.stars, stored.verdict) != (r.verdict.score, r.verdict.stars,
                                                                          r.verdict.verdict):
        return False  # never culled, or the settings changed since: this run's judgement is the one to show
    r.verdict = stored
    return True


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
    c.add_argument("--host", help="whose sidecar conventions: generic (default), lightroom, darktable, digikam, "
                   "or a plugin's; see `keepers hosts`")
    c.add_argument("--embed", action="store_true", default=None,
                   help="for files the host reads no sidecar for (Lightroom: JPEG, TIFF, PSD, PNG, DNG), write the "
                   "verdict into the file's own XMP instead of leaving it to the host's plug-in")
    c.add_argument("--keep-originals", action="store_true", default=None,
                   help="with --embed, keep each file as it was, as <name>_original")
    c.add_argument("--taste", metavar="PROFILE", help="add your taste profile's personal term (keepers taste)")
    common(c)
    c.set_defaults(func=cull)

    s = subparsers.add_parser("show", help="print one photo's verdict and reasons")
    s.add_argument("file")
    s.add_argument("--json", action="store_true")
    s.add_argument("--nsfw", action="store_true", default=None, help="include the nudity score")
    common(s)
    s.set_defaults(func=show)
