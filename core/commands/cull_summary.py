"""What `keepers cull` prints without --json: the photos' table (the rejects only above FULL_TABLE photos), each
photo's why, the summary with the reasons the photos not kept were judged bad for, and the errors, one line each."""

from __future__ import annotations

import os
from collections import Counter
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from keepers.core.pipeline import Result

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


def points(cost: float) -> str:
    """A reason's points as show prints them (core/judge/texts.points: "-4.8" took, "+2.1" gave, "·" moved nothing)."""
    from keepers.core.judge.texts import points as signed

    return signed(cost)
