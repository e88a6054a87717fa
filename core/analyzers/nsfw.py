"""NSFW analyzer: stores open_nsfw's probability that the photo is pornographic (keepers.core.inference.nsfw).

It judges nothing (score None, weight 0) and adds no keyword: nudity is not a flaw of a photo, and the model is a
prefilter that also fires on skin-toned textures. The score is there for the user and for scripts to filter on
(`nsfw` in the `--json` records). A reader can use keepers.core.inference.nsfw.UNSAFE (0.8, Yahoo's guidance) as a cut.
"""

from __future__ import annotations

from keepers.core.analyzers import Analyzer
from keepers.core.hookspecs import hookimpl
from keepers.core.inference.nsfw import OpenNsfw, shared_model
from keepers.core.types import Finding, Frame


class NsfwAnalyzer(Analyzer):
    name = "nsfw"
    version = "1"

    def __init__(self, model: OpenNsfw | None = None, providers: list[str] | None = None):
        self._model = model
        self._providers = providers

    @property
    def model(self) -> OpenNsfw:
        if self._model is None:  # loaded in the worker process on first use
            self._model = shared_model(self._providers)
        return self._model

    def analyze(self, frame: Frame) -> Finding:
        p = self.model.nsfw_score(frame.rgb)
        return Finding(self.name, self.version, score=None, weight=0.0, data={"nsfw": round(p, 4)})


@hookimpl
def keepers_analyzers(settings):
    if not getattr(settings, "nsfw", False):  # opt-in: see Settings.nsfw
        return []
    return [NsfwAnalyzer(providers=getattr(settings, "providers", None))]
