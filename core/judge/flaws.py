"""What counts as a named flaw: a reason that took the photo at least `FLAW_COST` points for something wrong in it.

One line for the whole house (issue 21's "a flaw reason costing >= 0.5 points"): the `flaw|...` keywords the
judging step writes (core/judge/judgement), the sound photos the moment may lift (core/judge/moment), the bad
photos taste may not lift (core/taste/term) and the false alarms the eval counts (core/lab/falsealarms). A photo's
look and a person's taste move a score both ways (their reasons' cost is the points they took, or minus those they
gave), but what they took is no flaw: a keeper a taste drops is not "flawed by taste". Nor is the quality model's
doubt (core/judge/texts.doubted: the points of a photo judged bad that no flaw scorer confirms, its message
starting with `DOUBT`): it says why the verdict is bad, and names no flaw that a measure found."""

from __future__ import annotations

from collections.abc import Iterable

from keepers.core.types import Reason

FLAW_COST = 0.5
LOOKS = frozenset({"moment", "appeal", "taste"})  # core/judge/moment's terms and core/taste/term's reason
DOUBT = "The quality model doubts this photo"  # how the judging step's doubt reason begins (core/judge/texts.doubted)


def is_doubt(reason: Reason) -> bool:
    """Whether this reason is the quality model's doubt (core/judge/texts.doubted), whatever code it carries."""
    return reason.message.startswith(DOUBT)


def is_flaw(reason: Reason) -> bool:
    """Whether this reason names a flaw that cost the photo points."""
    return reason.cost >= FLAW_COST and reason.code not in LOOKS and not is_doubt(reason)


def named_flaw(reasons: Iterable[Reason]) -> bool:
    """Whether a named flaw costs the photo points."""
    return any(is_flaw(r) for r in reasons)
