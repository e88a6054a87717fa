--[[ The plug-in's settings (LrPrefs), with defaults, and its API key (LrPasswords: Lightroom's encrypted store, not
the preferences file). Colour labels follow a photo's role, as in Keepers' XMP (core/io/hosts.py): reject, pick
(best of a burst), alternate (another frame of it), keeper (good), other. ]]

local LrPasswords = import "LrPasswords"
local LrPrefs = import "LrPrefs"

local Prefs = {}

Prefs.KEY = "apiKey"  -- the key's name in LrPasswords (salted with the plug-in's id by Lightroom)
Prefs.DEFAULTS = {
  url = "http://127.0.0.1:8765",
  labelReject = "red",
  labelPick = "green",
  labelAlternate = "none",
  labelKeeper = "none",
  labelOther = "none",
  setPickFlags = true,
  writeKeywords = true,
  exportContentKeywords = false,  -- true: Keepers' content keywords (animal|bird) go out with exports
  overwriteRatings = false,  -- true: replace ratings the photographer set too
  similarCount = 24,
  autoAnalyze = false,  -- the background loop (Auto.lua): new imports analysed without a menu command
  autoAnalyzeSeconds = 60,
}
Prefs.COLOURS = { "none", "red", "yellow", "green", "blue", "purple" }

function Prefs.get()
  local p = LrPrefs.prefsForPlugin()
  for k, v in pairs(Prefs.DEFAULTS) do
    if p[k] == nil then p[k] = v end
  end
  return p
end

-- The API key. Versions before 0.2 kept it in plain LrPrefs: such a key moves into LrPasswords, and out of the
-- preferences file, the first time it is read.
function Prefs.apiKey()
  local p = LrPrefs.prefsForPlugin()
  if type(p.apiKey) == "string" and p.apiKey ~= "" then
    LrPasswords.store(Prefs.KEY, p.apiKey)
  end
  p.apiKey = nil
  return LrPasswords.retrieve(Prefs.KEY) or ""
end

function Prefs.setApiKey(key)
  LrPasswords.store(Prefs.KEY, key or "")
  LrPrefs.prefsForPlugin().apiKey = nil
end

-- the label colour for a role ("none" when the role gets none)
function Prefs.label(p, role)
  local key = "label" .. role:sub(1, 1):upper() .. role:sub(2)
  local c = p[key]
  return (c and c ~= "") and c or "none"
end

return Prefs
