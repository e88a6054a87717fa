-- The plug-in's section in File > Plug-in Manager: the same settings as "Keepers settings...", the API key read
-- from LrPasswords when the manager opens and saved there when it closes
local Prefs = require "Prefs"
local SettingsDialog = require "SettingsDialog"

return {
  startDialog = function(propertyTable)
    propertyTable.apiKey = Prefs.apiKey()
  end,
  endDialog = function(propertyTable)
    Prefs.setApiKey(propertyTable.apiKey)
  end,
  sectionsForTopOfDialog = function(f, propertyTable)
    return { SettingsDialog.section(f, propertyTable) }
  end,
}
