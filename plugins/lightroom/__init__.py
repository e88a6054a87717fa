"""Lightroom Classic plugin (Lua, in keepers.lrplugin/): add the folder in File > Plug-in Manager."""

from pathlib import Path

PLUGIN_DIR = Path(__file__).with_name("keepers.lrplugin")
