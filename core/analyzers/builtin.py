"""The built-in classical analyzers, registered through the same hook a third-party plugin uses."""

from __future__ import annotations

from keepers.core.analyzers.artefacts import ArtefactsAnalyzer
from keepers.core.analyzers.damage import DamageAnalyzer
from keepers.core.analyzers.exposure import ExposureAnalyzer
from keepers.core.analyzers.lens import LensAnalyzer
from keepers.core.analyzers.noise import NoiseAnalyzer
from keepers.core.analyzers.sharpness import SharpnessAnalyzer
from keepers.core.hookspecs import hookimpl


@hookimpl
def keepers_analyzers(settings):
    return [SharpnessAnalyzer(), NoiseAnalyzer(), ExposureAnalyzer(), LensAnalyzer(), ArtefactsAnalyzer(),
            DamageAnalyzer()]
