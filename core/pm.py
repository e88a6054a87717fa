"""The plugin manager. Built-in analyzers and host adapters are registered exactly like third-party plugins,
which are loaded from the `keepers` entry-point group (set KEEPERS_LOAD_PLUGINS=0 to skip them)."""

from __future__ import annotations

import importlib
import logging
import os
import sys

import pluggy

from keepers.core import hookspecs

log = logging.getLogger("keepers.plugins")

# modules that implement hooks; each is registered as a plugin
DEFAULT_PLUGINS: tuple[str, ...] = (
    # the sub-commands (keepers_commands), in the order `keepers --help` lists them
    "keepers.core.commands.cull",
    "keepers.core.commands.sort",
    "keepers.core.commands.demo",
    "keepers.sidecar.cli",
    "keepers.core.commands.models",
    "keepers.core.commands.similar",
    "keepers.core.commands.eval",
    "keepers.core.commands.taste",
    "keepers.core.commands.review",
    "keepers.plugins.cli",
    # analyzers, judging and host adapters
    "keepers.core.analyzers.builtin",
    "keepers.core.analyzers.appeal",  # before embedding and faces: listed (LIFO) after them, as it runs
    "keepers.core.inference.embedding",
    "keepers.core.judge.group",
    "keepers.core.analyzers.faces",
    "keepers.core.analyzers.tags",
    "keepers.core.analyzers.nsfw",
    "keepers.core.analyzers.quality",
    "keepers.core.io.hosts",
    "keepers.plugins.lightroom.adapter",
    "keepers.plugins.darktable.adapter",
    "keepers.plugins.digikam.adapter",
)

manager = pluggy.PluginManager("keepers")
manager.add_hookspecs(hookspecs)

for _name in DEFAULT_PLUGINS:
    try:
        manager.register(importlib.import_module(_name), name=_name)
    except ImportError:  # a built-in whose optional dependency is missing is skipped, not fatal
        log.warning("built-in plugin %s could not be loaded", _name, exc_info=True)

if os.environ.get("KEEPERS_LOAD_PLUGINS", "1") != "0" and not getattr(sys, "_called_from_test", False):
    try:
        manager.load_setuptools_entrypoints("keepers")
    except Exception:  # a broken third-party plugin must not stop a cull
        log.warning("error loading third-party plugins", exc_info=True)
manager.check_pending()  # a misspelled hook name fails here, not silently


def analyzers(settings):
    return [a for group in manager.hook.keepers_analyzers(settings=settings) for a in (group or [])]
