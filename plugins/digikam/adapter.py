"""digiKam's sidecar conventions, a host adapter plugin (keepers.core.io.hosts, docs/interop.md)."""

from __future__ import annotations

from keepers.core.hookspecs import hookimpl
from keepers.core.io.hosts import (LABEL_NAMES, AlsoRead, HostAdapter, KeywordList, Prop, components, labels_of,
                                   role, values)
from keepers.core.types import Verdict

DIGIKAM_LABEL = {"red": 1, "yellow": 3, "green": 4, "blue": 5, "purple": 6}  # 2 orange, 6 magenta, 7 gray ...
DIGIKAM_PICK = {"reject": 1, "alternate": 2, "pick": 3, "keeper": 3}  # 0 none, 1 rejected, 2 pending, 3 accepted
# where digiKam's own colour label is absent it shows Nikon NX's photoshop:Urgency (its numbers, 1-9), then xmp:Label
# (getItemColorLabel); setting a label it writes both along with its own, the same number and Lightroom's name
ALSO_READ = (AlsoRead("Urgency", "photoshop:Urgency", frozenset(str(i) for i in range(1, 10)),
                      {str(i): str(i) for i in range(1, 10)}),
             AlsoRead("Label", "xmp:Label", LABEL_NAMES, {str(n): c.title() for c, n in DIGIKAM_LABEL.items()}))


def _digikam_path(p: str) -> str:
    """`Keepers|animal|bird` -> `Keepers/animal/bird`; a `/` inside a name would split it, so it becomes `-`."""
    return "/".join(c.replace("/", "-") for c in p.split("|"))


class DigikamAdapter(HostAdapter):
    """digiKam: `IMG.CR2.xmp`, xmp:Rating 0..5 (no -1), digiKam:PickLabel (1 rejected, 2 pending, 3 accepted),
    digiKam:ColorLabel, digiKam:TagsList with `/` (read before any other keyword list)."""

    name = "digikam"
    naming = "digikam"
    description = "digiKam: IMG.ext.xmp, xmp:Rating 0-5, digiKam:PickLabel/ColorLabel/TagsList"

    def rating(self, v: Verdict) -> int:
        return max(0, int(v.stars))

    def props(self, v: Verdict) -> list[Prop]:
        c, pick = self.colour(v), DIGIKAM_PICK.get(role(v))
        return [Prop("XMP-digiKam:PickLabel", "PickLabel", "digiKam:PickLabel", None if pick is None else str(pick)),
                Prop("XMP-digiKam:ColorLabel", "ColorLabel", "digiKam:ColorLabel",
                     None if c is None else str(DIGIKAM_LABEL[c]), also=ALSO_READ)]

    def keyword_lists(self, paths, old, ours_before):
        lists = super().keyword_lists(paths, old, ours_before)
        seed: list[str] = []
        if paths and not values(old.get("TagsList")):  # Keepers creates TagsList: keep what digiKam showed
            theirs_h = [h for h in values(old.get("HierarchicalSubject")) if h not in ours_before]
            known = components(theirs_h)
            seed = [_digikam_path(h) for h in theirs_h]
            seed += [s for s in values(old.get("Subject")) if s not in ours_before and s.casefold() not in known]
        lists.append(KeywordList("XMP-digiKam:TagsList", "TagsList", [_digikam_path(p) for p in paths],
                                 seed=list(dict.fromkeys(seed)), mine=lambda k: k.startswith("Keepers/")))
        return lists


@hookimpl
def keepers_host_adapters(settings):
    return [DigikamAdapter(labels_of(settings))]
