"""Lightroom Classic's sidecar conventions, a host adapter plugin (keepers.core.io.hosts, docs/interop.md)."""

from __future__ import annotations

from keepers.core.hookspecs import hookimpl
from keepers.core.io.hosts import HostAdapter, labels_of


class LightroomAdapter(HostAdapter):
    """Lightroom Classic reads `IMG.xmp` beside proprietary raws only (JPEG/TIFF/DNG: embedded XMP, which Keepers
    does not touch) after Metadata > Read Metadata from Files. Its pick flag is catalog-only: the plugin sets it.
    xmp:Rating -1 (the XMP spec's reject) is written for rejects; whether LrC shows it as rejected is unverified,
    so the reject colour label is the visible sign."""

    name = "lightroom"
    naming = "lightroom"
    description = "Lightroom Classic: IMG.xmp for raws, xmp:Rating, xmp:Label (label text), keywords"


@hookimpl
def keepers_host_adapters(settings):
    return [LightroomAdapter(labels_of(settings))]
