"""Lightroom Classic's sidecar conventions, a host adapter plugin (keepers.core.io.hosts, docs/interop.md)."""

from __future__ import annotations

from keepers.core.hookspecs import hookimpl
from keepers.core.io.hosts import HostAdapter, labels_of


# formats whose metadata Lightroom Classic keeps inside the file, never in a sidecar ("for standard image file
# formats and DNG, metadata is saved into the file itself; for proprietary raws, to an XMP sidecar")
EMBEDDED = {"jpg", "jpeg", "jpe", "tif", "tiff", "psd", "psb", "png", "dng"}


class LightroomAdapter(HostAdapter):
    """Lightroom Classic reads `IMG.xmp` beside proprietary raws only, after Metadata > Read Metadata from Files;
    for JPEG, TIFF, PSD, PNG and DNG it reads the XMP inside the file, so those get no sidecar: the plug-in applies
    the verdict, or `--embed` writes it into the file. Its pick flag is catalog-only: the plugin sets it.
    xmp:Rating -1 (the XMP spec's reject) is written for rejects; whether LrC shows it as rejected is unverified,
    so the reject colour label is the visible sign."""

    name = "lightroom"
    naming = "lightroom"
    description = ("Lightroom Classic: IMG.xmp for raws (JPEG/TIFF/PSD/PNG/DNG: the plug-in, or --embed), "
                   "xmp:Rating, xmp:Label (label text), keywords")

    def reads_sidecar(self, photo_file) -> bool:
        return str(photo_file).rpartition(".")[2].casefold() not in EMBEDDED


@hookimpl
def keepers_host_adapters(settings):
    return [LightroomAdapter(labels_of(settings))]
