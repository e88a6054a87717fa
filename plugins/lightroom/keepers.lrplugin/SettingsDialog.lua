--[[ The settings (daemon URL, API key, labels, keywords on export, the background loop) and "Test connection".
The API key is bound to a property table of its own and saved to LrPasswords when the dialog closes with OK; the
other settings are bound to LrPrefs directly. ]]

local LrBinding = import "LrBinding"
local LrDialogs = import "LrDialogs"
local LrTasks = import "LrTasks"
local LrView = import "LrView"
local Client = require "Client"
local Prefs = require "Prefs"

local SettingsDialog = {}

local function colourMenu(f, prefs, key, title)
  local items = {}
  for _, c in ipairs(Prefs.COLOURS) do items[#items + 1] = { title = c, value = c } end
  return f:row {
    f:static_text { title = title, width = LrView.share "label_width" },
    f:popup_menu { value = LrView.bind(key), items = items, bind_to_object = prefs },
  }
end

-- props: holds `apiKey` while the dialog is open (Prefs.apiKey() when it opens; saved with Prefs.setApiKey)
function SettingsDialog.section(f, props)
  local prefs = Prefs.get()
  return {
    title = "Keepers daemon",
    synopsis = prefs.url,
    bind_to_object = prefs,
    f:row {
      f:static_text { title = "Daemon URL:", width = LrView.share "label_width" },
      f:edit_field { value = LrView.bind "url", width_in_chars = 36, bind_to_object = prefs },
    },
    f:row {
      f:static_text { title = "API key:", width = LrView.share "label_width" },
      f:password_field { value = LrView.bind "apiKey", width_in_chars = 36, bind_to_object = props },
    },
    f:static_text { title = "Create one with: keepers apps create Lightroom --root <your photo folder>. "
                            .. "It is kept in Lightroom's password store." },
    colourMenu(f, prefs, "labelReject", "Label for rejects:"),
    colourMenu(f, prefs, "labelPick", "Label for burst picks:"),
    colourMenu(f, prefs, "labelAlternate", "Label for alternates:"),
    colourMenu(f, prefs, "labelKeeper", "Label for keepers:"),
    f:checkbox { title = "Set pick / reject flags", value = LrView.bind "setPickFlags", bind_to_object = prefs },
    f:checkbox { title = "Add keywords (under Keepers)", value = LrView.bind "writeKeywords", bind_to_object = prefs },
    f:checkbox { title = "Include content keywords (animal, people...) when exporting", bind_to_object = prefs,
                 value = LrView.bind "exportContentKeywords" },
    f:static_text { title = "Keepers' judgement (flaw|..., group|...) is never included in exports." },
    f:checkbox { title = "Replace star ratings I set myself", value = LrView.bind "overwriteRatings",
                 bind_to_object = prefs },
    f:checkbox { title = "Analyse new photos after import (in the background; the daemon's watched folders "
                         .. "analyse them as they arrive)", value = LrView.bind "autoAnalyze", bind_to_object = prefs },
    f:push_button {
      title = "Test connection",
      action = function()
        LrTasks.startAsyncTask(function()
          local me, err = Client.me(props.apiKey)
          if me then
            LrDialogs.message("Keepers", "Connected to application " .. tostring(me.application) .. ".", "info")
          else
            LrDialogs.message("Keepers", err, "critical")
          end
        end)
      end,
    },
  }
end

function SettingsDialog.show(context)
  local f = LrView.osFactory()
  local props = LrBinding.makePropertyTable(context)
  props.apiKey = Prefs.apiKey()
  local section = SettingsDialog.section(f, props)
  local rows = {}
  for i, v in ipairs(section) do rows[i] = v end
  rows.bind_to_object = section.bind_to_object
  local result = LrDialogs.presentModalDialog { title = "Keepers settings", contents = f:column(rows) }
  if result == "ok" then Prefs.setApiKey(props.apiKey) end
  return result
end

return SettingsDialog
