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


# What each reason did, as the photographer is told it (`keepers show`, the cull's table, the sidecar's Reasons, the
# review page; `role` in --json). MOVED: points from which a reason moved the score (show prints "-0.1" from here,
# "·" below). A flaw that a measure found and the judging step charged nothing for (the quality head, weighing every
# measure, saw no such flaw: a white studio backdrop read as backlight, a calm dusk sea as motion blur) is MEASURED:
# it is listed where the photo is not kept, where the photographer looks for everything wrong before deleting, and
# left out where it is kept: on 253 real photos 46 of 240 keepers carried such a reason (a fifth), some untrue of
# the photo. --json and keepers:ReasonCodes keep it (role "measured", cost 0): nothing is lost for tools
MOVED = 0.05
TOOK, GAVE, NOTE, MEASURED = "took", "gave", "note", "measured"
ORDER = (TOOK, GAVE, NOTE, MEASURED)  # what moved the score first


def role(reason: Reason) -> str:
    """'took' points, 'gave' points (a smile, the look, taste), 'note' (what was recognised: an intent, the pick of a
    burst; these carry severity 0, or are a look that moved nothing) or 'measured' (a flaw found, not charged)."""
    if reason.cost >= MOVED:
        return TOOK
    if reason.cost <= -MOVED:
        return GAVE
    return NOTE if reason.severity <= 0 or reason.code in LOOKS else MEASURED


def shown(reasons: Iterable[Reason], kept: bool) -> list[Reason]:
    """The reasons a photographer reads, what moved the score first: where the photo is not `kept`, points taken
    (the most first), then points given; on a keeper, points taken or given, the most first (a keeper's "-0.1 people
    tend to pass over photos like this" led its "+2.1 a smile" before); then notes, then what was measured and not
    charged, only where the photo is not kept."""
    rank = {r: i for i, r in enumerate(ORDER)}
    if kept:
        rank[GAVE] = rank[TOOK]
    out = [r for r in reasons if not (kept and role(r) == MEASURED)]
    return sorted(out, key=lambda r: (rank[role(r)], -abs(r.cost) if role(r) in (TOOK, GAVE) else 0.0))
