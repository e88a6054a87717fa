-- Library > Plug-in Extras > Send my ratings and flags to Keepers
local Keepers = require "Keepers"
Keepers.start("signals")
