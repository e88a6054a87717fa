-- Library > Plug-in Extras > Apply my choices from the review page
local Keepers = require "Keepers"
Keepers.start("choices")
