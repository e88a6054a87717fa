"""Every hook Keepers calls, as documented empty functions. Built-in features implement them the same way a
third-party plugin does (registered in keepers.core.pm), so one path serves both."""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("keepers")
hookimpl = pluggy.HookimplMarker("keepers")


@hookspec
def keepers_analyzers(settings):
    """Return a list of Analyzer objects (keepers.core.analyzers.Analyzer) to run on every photo."""


@hookspec
def keepers_host_adapters(settings):
    """Return a list of HostAdapter objects that decide sidecar naming and which XMP properties to write."""


@hookspec
def keepers_photo_decided(photo, verdict, findings):
    """Called after a photo's verdict is decided, before it is written back; may add keywords to the verdict."""
