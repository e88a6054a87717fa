"""The ownership rules applied (core/io/xmp.py's docstring states them): plan() decides, from what a sidecar or a
photo holds now and what Keepers recorded there before (keepers:RatingSet, KeywordsAdded, PropertiesSet, Overruled),
what this write may change: the rating, each keyword list's removals and additions under ROOT (_paths, _merge), the
host's labels (_props), and what the photographer has made theirs for good. It touches no file: SidecarWriter.write
plans a sidecar and SidecarWriter.embed a photo's own XMP the same way; owned_keys names the properties whose owner
decides (the writer reads the photo's XMP where a sidecar lacks one of them).
"""

from __future__ import annotations

from keepers.core.io.xmp_args import clean
from keepers.core.io.xmp_read import as_list, empty, first, num
from keepers.core.types import Verdict

ROOT = "Keepers"


def owned_keys(host, verdict: Verdict) -> list[str]:
    """The properties whose owner decides what Keepers may write: the rating and the host's labels (with the other
    properties the host reads a label from)."""
    props = host.props(verdict)
    return ["Rating", *dict.fromkeys([*(p.key for p in props), *(a.key for p in props for a in p.also)])]


def _paths(keywords: list[str]) -> list[str]:
    out: list[str] = []
    for k in keywords:
        parts = [clean(p) for p in str(k).split("|") if clean(p)]
        if parts and parts[0] == ROOT:
            parts = parts[1:]
        p = "|".join([ROOT, *parts])
        if parts and p not in out:
            out.append(p)
    return out


def _merge(current: list[str], want: list[str], ours_before: list[str]):
    """(to remove, to add, ours now) for one keyword list: add what is missing (case-insensitively), remove what
    Keepers added before and no longer predicts, leave everything else alone."""
    have = {c.casefold() for c in current}
    remove = [k for k in ours_before if k not in want and k in current]
    add = [k for k in want if k.casefold() not in have]
    ours = [k for k in want if (k in ours_before and k in current) or k in add]
    return remove, add, ours


def _theirs_elsewhere(old: dict, prev: dict[str, str], also, last: str | None) -> bool:
    """A label the host shows from one of `also`'s properties that is the photographer's: not one Keepers set there
    (keepers:PropertiesSet: an xmp:Label a Lightroom-conventions run wrote), nor the host's copy of Keepers' own
    (`last`: digiKam writes its label's number and name along)."""
    for a in also:
        value = None if empty(old.get(a.key)) else str(first(old.get(a.key)))
        if value in a.shows and prev.get(a.name) != value and (last is None or a.mirror.get(last) != value):
            return True
    return False


def _props(old: dict, props, overruled: set[str], carry: bool = True) -> tuple[list[str], list[str]]:
    """(exiftool arguments, keepers:PropertiesSet entries) for the adapter's labels: each is set where there is
    none or it is still the value Keepers set last, and removed only when it is Keepers' and no longer wanted.
    A label Keepers set that is now another or gone was the photographer's doing: its name joins `overruled`,
    and an overruled label is never written again (a removed label does not come back on the next cull)."""
    prev = dict(e.split("=", 1) for e in as_list(old.get("PropertiesSet")) if "=" in e)
    args: list[str] = []
    held: dict[str, str] = {}
    for p in props:
        last, want = prev.get(p.name), p.value
        if p.name in overruled:
            continue
        if _theirs_elsewhere(old, prev, p.also, last):
            overruled.add(p.name)  # the photographer's label, where the host reads it too: theirs, not Keepers'
            if last is not None:  # and Keepers' own goes, which digiKam would show in its place
                mine = last in as_list(old.get(p.key)) if p.member else str(first(old.get(p.key))) == last
                if mine:
                    args.append(f"-{p.tag}-={last}" if p.member else f"-{p.tag}=")
            continue
        if p.member:  # Keepers owns one entry of a list (darktable:colorlabels)
            current = as_list(old.get(p.key))
            if last is not None and last not in current:
                overruled.add(p.name)  # the photographer took Keepers' entry out
                continue
            if last is not None and last != want:
                args.append(f"-{p.tag}-={last}")
            if want is not None and (want not in current or last == want):
                if want not in current:
                    args.append(f"-{p.tag}+={want}")
                held[p.name] = want
            continue
        cur = old.get(p.key)
        cur = None if cur is None or cur == "" or cur == [] else str(first(cur))
        if cur != last and (cur is not None or last is not None):
            overruled.add(p.name)  # set by the photographer (or another program), or Keepers' changed or removed
            continue
        if want is None:
            if cur is not None:
                args.append(f"-{p.tag}=")
        else:
            if cur != want:
                args.append(f"-{p.tag}={want}")
            held[p.name] = want
    if carry:  # labels another host's run set stay Keepers' to change
        managed = {p.name for p in props}
        held.update({k: v for k, v in prev.items() if k not in managed})
    return args, [f"{k}={v}" for k, v in held.items()]


def plan(old: dict, verdict: Verdict, overwrite_ratings: bool, embedded: float | None, host) -> dict:
    cur, was_set = num(old.get("Rating")), num(old.get("RatingSet"))
    if cur is not None and host.rating_unset(old):  # a host's placeholder (darktable's import rating)
        cur = None
    value = host.rating(verdict)
    overruled = set(as_list(old.get("Overruled")))
    if cur != was_set and (cur is not None or was_set is not None):
        overruled.add("xmp:Rating")  # set by the photographer, or Keepers' changed or removed: theirs for good
    if overwrite_ratings:
        overruled.discard("xmp:Rating")
    rating = overwrite_ratings or ("xmp:Rating" not in overruled and (cur is None and embedded is None
                                                                       or cur is not None and cur == was_set))
    paths = _paths(verdict.keywords)
    before = as_list(old.get("KeywordsAdded"))
    lists, added, removed, ours, copied = [], [], [], [], []
    for kl in host.keyword_lists(paths, old, before):
        current = as_list(old.get(kl.key))
        have = {c.casefold() for c in current}
        mine_before = [k for k in before if kl.mine(k)]
        # a keyword Keepers added that is gone from the list was deleted by the photographer: never added again
        overruled.update(k for k in mine_before if k.casefold() not in have)
        declined = {o.casefold() for o in overruled}
        rm, add, mine = _merge(current, [k for k in kl.want if k.casefold() not in declined], mine_before)
        have = {c.casefold() for c in current + add}
        seeds = [k for k in dict.fromkeys(kl.seed) if k.casefold() not in have]
        lists.append((kl.tag, rm, seeds + add))  # the photographer's first, as in any list they had
        added, removed, ours, copied = added + add, removed + rm, ours + mine, copied + seeds
    # a rating the photographer changed or removed is theirs from now on: forget that Keepers once set one
    rating_set = value if rating else (None if cur is not None or "xmp:Rating" in overruled else was_set)
    prop_args, props_set = _props(old, host.props(verdict), overruled)
    return dict(rating=rating, value=value, rating_set=rating_set, lists=lists, added=added, removed=removed,
                ours=ours, copied=copied, prop_args=prop_args, props_set=props_set, overruled=sorted(overruled))
