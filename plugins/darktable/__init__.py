"""darktable Lua script (keepers.lua), script_manager compatible: copy it to ~/.config/darktable/lua/contrib/."""

from pathlib import Path

SCRIPT = Path(__file__).with_name("keepers.lua")
