--[[ The plug-in's settings (LrPrefs), with defaults. Colour labels follow a photo's role, as in Keepers' XMP
(core/io/hosts.py): reject, pick (best of a burst), alternate (another frame of it), keeper (good), other. ]]

local LrPrefs = import "LrPrefs"

local Prefs = {}

Prefs.DEFAULTS = {
  url = "http://127.0.0.1:8765",
  apiKey = "",
  labelReject = "red",
  labelPick = "green",
  labelAlternate = "none",
  labelKeeper = "none",
  labelOther = "none",
  setPickFlags = true,
  writeKeywords = true,
  overwriteRatings = false,  -- true: replace ratings the photographer set too
  similarCount = 24,
}
Prefs.COLOURS = { "none", "red", "yellow", "green", "blue", "purple" }

function Prefs.get()
  local p = LrPrefs.prefsForPlugin()
  for k, v in pairs(Prefs.DEFAULTS) do
    if p[k] == nil then p[k] = v end
  end
  return p
end

-- the label colour for a role ("none" when the role gets none)
function Prefs.label(p, role)
  local key = "label" .. role:sub(1, 1):upper() .. role:sub(2)
  local c = p[key]
  return (c and c ~= "") and c or "none"
end

return Prefs
