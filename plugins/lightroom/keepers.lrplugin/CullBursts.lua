-- Library > Plug-in Extras > Cull bursts
local Keepers = require "Keepers"
Keepers.start("cull")
