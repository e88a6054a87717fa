"""What `keepers show` prints besides the verdict line: the reasons with their points and codes (what moved the
score first, then the flaws measured and not charged), a long text wrapped under itself, and the last cull's
judgement (its group, pick and alternate reason) where the photo is unchanged since."""

from __future__ import annotations

from typing import TYPE_CHECKING

from keepers.core.commands.cull_run import _catalog
from keepers.core.commands.cull_summary import _listed, points

if TYPE_CHECKING:
    from keepers.core.pipeline import Result

def _hanging(out, head: str, text: str) -> None:
    """`head` then `text`, a long text wrapped under itself (not under the costs and codes), no trailing spaces."""
    import textwrap

    lines = textwrap.wrap(text, max(20, out.width - len(head)), break_on_hyphens=False) or [""]
    out.print(head + ("\n" + " " * len(head)).join(lines), highlight=False, soft_wrap=True, markup=False)


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
