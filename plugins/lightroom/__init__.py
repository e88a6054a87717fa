"""Lightroom Classic plugin (Lua, in keepers.lrplugin/): add the folder in File > Plug-in Manager. adapter.py: the
sidecars Keepers writes for Lightroom (`--host lightroom`)."""

from pathlib import Path

PLUGIN_DIR = Path(__file__).with_name("keepers.lrplugin")
