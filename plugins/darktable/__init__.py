"""darktable Lua script (keepers.lua), script_manager compatible: copy it to ~/.config/darktable/lua/contrib/.
adapter.py: the sidecars Keepers writes for darktable (`--host darktable`)."""

from pathlib import Path

SCRIPT = Path(__file__).with_name("keepers.lua")
