-- Library > Plug-in Extras > Find similar
local Keepers = require "Keepers"
Keepers.start("similar")
