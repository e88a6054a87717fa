-- Library > Plug-in Extras > Keepers settings...
local LrFunctionContext = import "LrFunctionContext"
local LrTasks = import "LrTasks"
local SettingsDialog = require "SettingsDialog"

LrTasks.startAsyncTask(function()
  LrFunctionContext.callWithContext("Keepers.settings", function(context)
    SettingsDialog.show(context)
  end)
end)
