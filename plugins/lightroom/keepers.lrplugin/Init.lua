-- LrInitPlugin: Lightroom runs this when it loads the plug-in; it starts the background loop (Auto.lua), which does
-- nothing until "Analyse new photos after import" is on
require("Auto").start()
