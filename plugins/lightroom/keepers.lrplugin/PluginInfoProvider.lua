-- The plug-in's section in File > Plug-in Manager: the same settings as "Keepers settings..."
local SettingsDialog = require "SettingsDialog"

return {
  sectionsForTopOfDialog = function(f, propertyTable)
    return { SettingsDialog.section(f) }
  end,
}
