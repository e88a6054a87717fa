--[[ The background loop (started by Init.lua, Info.lua's LrInitPlugin; stopped by Shutdown.lua): when "Analyse
new photos after import" is on, it looks every `autoAnalyzeSeconds` for photos added to the catalog since its last
look (a higher localIdentifier than any it has seen) and runs them through Keepers as "Analyze selected" does, in
one job (bursts grouped), without a dialog. The analysis itself is the daemon's: with its watched folders
([daemon] watch = the import folder) the files are analysed as they land, and the job reads its catalog.
An import still under way is waited for (the count of new photos must hold for one look), so a burst is not cut
in two. The first look only notes where the catalog stands: photos imported before are not new. If the daemon
cannot be reached the photos stay new and are tried at the next look; the last error is kept in `autoLastError`. ]]

local LrApplication = import "LrApplication"
local LrFunctionContext = import "LrFunctionContext"
local LrTasks = import "LrTasks"
local Prefs = require "Prefs"

local Auto = { running = false, stopping = false, waiting = nil }

local function markKey(catalog)  -- one mark per catalog, as a plain preference name
  return "autoMark_" .. tostring(catalog:getPath()):gsub("[^%w]", "_")
end

-- the catalog's photos added since `mark`, and the highest localIdentifier now
function Auto.newPhotos(catalog, mark)
  local new, top = {}, mark or 0
  for _, photo in ipairs(catalog:getAllPhotos()) do
    local id = photo.localIdentifier
    if id > top then top = id end
    if mark and id > mark then new[#new + 1] = photo end
  end
  return new, top
end

-- one look; returns how many photos it ran through Keepers
function Auto.tick(catalog)
  local prefs = Prefs.get()
  local key = markKey(catalog)
  local new, top = Auto.newPhotos(catalog, prefs[key])
  if prefs[key] == nil or #new == 0 then
    prefs[key], Auto.waiting = top, nil
    return 0
  end
  if Auto.waiting ~= #new then  -- still importing: look again next time
    Auto.waiting = #new
    return 0
  end
  local Keepers = require "Keepers"
  local counts, err
  LrFunctionContext.callWithContext("Keepers.auto", function(context)
    counts, err = Keepers.run(context, catalog, new, { title = "Keepers: new photos", quiet = true })
  end)
  if not counts then
    prefs.autoLastError = tostring(err)
    return 0
  end
  prefs[key], Auto.waiting, prefs.autoLastError = top, nil, nil
  return counts.photos
end

function Auto.loop()
  Auto.running = true
  while not Auto.stopping do
    if Prefs.get().autoAnalyze then
      local ok, err = LrTasks.pcall(Auto.tick, LrApplication.activeCatalog())
      if not ok then Prefs.get().autoLastError = tostring(err) end
    end
    local waited = 0
    while not Auto.stopping and waited < (tonumber(Prefs.get().autoAnalyzeSeconds) or 60) do
      LrTasks.sleep(1)
      waited = waited + 1
    end
  end
  Auto.running = false
end

function Auto.start()
  if Auto.running then return end
  Auto.stopping = false
  LrTasks.startAsyncTask(Auto.loop, "Keepers.auto")
end

return Auto
