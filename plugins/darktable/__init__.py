"""darktable Lua script (keepers.lua), script_manager compatible: copy it to ~/.config/darktable/lua/contrib/ and
add LUARC_LINE to ~/.config/darktable/luarc (darktable runs only what its luarc requires), or start it in
script_manager. adapter.py: the sidecars Keepers writes for darktable (`--host darktable`)."""

from pathlib import Path

SCRIPT = Path(__file__).with_name("keepers.lua")
LUARC_LINE = 'require "contrib/keepers"'
