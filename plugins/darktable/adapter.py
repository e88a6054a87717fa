"""darktable's sidecar conventions, a host adapter plugin (keepers.core.io.hosts, docs/interop.md)."""

from __future__ import annotations

from keepers.core.hookspecs import hookimpl
from keepers.core.io.hosts import COLOURS, LABEL_NAMES, AlsoRead, HostAdapter, Prop, labels_of, number, values
from keepers.core.types import Verdict

DARKTABLE_LABEL = {c: i for i, c in enumerate(COLOURS)}  # darktable:colorlabels: 0 red .. 4 purple


class DarktableAdapter(HostAdapter):
    """darktable: `IMG.CR2.xmp`, xmp:Rating -1 = rejected, darktable:colorlabels (it reads xmp:Label only from
    other programs, and then ignores its own labels, so Keepers writes darktable's), and every keyword also in
    lr:hierarchicalSubject (darktable reads dc:subject only when there is no hierarchical list)."""

    name = "darktable"
    naming = "darktable"
    description = "darktable: IMG.ext.xmp, xmp:Rating (-1 reject), darktable:colorlabels, lr:hierarchicalSubject"

    def __init__(self, labels=None, naming=None, import_rating: int | None = 1):
        super().__init__(labels, naming)
        # darktable writes ui_last/import_initial_rating (default 1) into every sidecar it creates
        self.import_rating = import_rating

    def rating_unset(self, old: dict) -> bool:
        if super().rating_unset(old):
            return True
        return (old.get("Version") is None and old.get("DarktableXmpVersion") is not None
                and self.import_rating is not None and number(old.get("Rating")) == self.import_rating)

    def props(self, v: Verdict) -> list[Prop]:
        c = self.colour(v)
        return [Prop("XMP-darktable:DarktableColorLabels", "DarktableColorLabels", "darktable:colorlabels",
                     None if c is None else str(DARKTABLE_LABEL[c]), member=True,
                     also=(AlsoRead("Label", "xmp:Label", LABEL_NAMES),))]  # shown before its own; never written

    def keyword_lists(self, paths, old, ours_before):
        lists = super().keyword_lists(paths, old, ours_before)
        theirs_h = [h for h in values(old.get("HierarchicalSubject")) if h not in ours_before]
        if paths and not theirs_h:  # Keepers creates the hierarchical list: the flat keywords go in it too
            lists[0].seed = [s for s in values(old.get("Subject")) if s not in ours_before]
        return lists


@hookimpl
def keepers_host_adapters(settings):
    return [DarktableAdapter(labels_of(settings))]
