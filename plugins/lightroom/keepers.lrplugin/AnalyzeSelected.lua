-- Library > Plug-in Extras > Analyze selected photos
local Keepers = require "Keepers"
Keepers.start("analyze")
