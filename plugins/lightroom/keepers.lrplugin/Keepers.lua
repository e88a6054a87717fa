--[[ The three commands: Analyze selected photos (/v1/predict), Cull bursts (a /v1/jobs batch, which finds bursts
across the selection; picks and alternates go into collections under "Keepers"), Find similar (/v1/search/similar
into a "Similar to ..." collection). Each runs in an async task with a progress bar and reports in a dialog. ]]

local LrApplication = import "LrApplication"
local LrDialogs = import "LrDialogs"
local LrFunctionContext = import "LrFunctionContext"
local LrProgressScope = import "LrProgressScope"
local LrTasks = import "LrTasks"
local Apply = require "Apply"
local Client = require "Client"
local Prefs = require "Prefs"

local Keepers = {}
Keepers.COLLECTIONS = { pick = "Burst picks", alternate = "Burst alternates", reject = "Rejects" }

-- the selected photos by file path (virtual copies share their master's path)
local function selection(catalog)
  local byPath, paths = {}, {}
  for _, photo in ipairs(catalog:getTargetPhotos()) do
    local path = photo:getRawMetadata("path")
    if not byPath[path] then
      byPath[path] = {}
      paths[#paths + 1] = path
    end
    table.insert(byPath[path], photo)
  end
  return byPath, paths
end

local function progressFn(scope)
  return function(done, total)
    scope:setPortionComplete(done, total)
    return scope:isCanceled()
  end
end

local function report(title, counts, errors)
  local msg = string.format("%d photo(s): %d rated, %d flagged, %d labelled, %d keyword(s) added.",
    counts.photos, counts.rated, counts.flagged, counts.labelled, counts.keywords)
  if #errors > 0 then msg = msg .. "\n\nNot analysed:\n" .. table.concat(errors, "\n", 1, math.min(#errors, 12)) end
  LrDialogs.message(title, msg, #errors > 0 and "warning" or "info")
end

function Keepers.analyze(context, catalog)
  local byPath, paths = selection(catalog)
  local scope = LrProgressScope { title = "Keepers: analysing " .. #paths .. " photo(s)", functionContext = context }
  local results, err = Client.predict(paths, progressFn(scope))
  if not results then return LrDialogs.message("Keepers", err, "critical") end
  local items, errors = {}, {}
  for _, path in ipairs(paths) do
    local r = results[path]
    if r and r.verdict then  -- a result is the `keepers cull --json` record: score, stars, keywords... at its top
      for _, photo in ipairs(byPath[path]) do items[#items + 1] = { photo = photo, verdict = r } end
    else
      errors[#errors + 1] = path .. ": " .. tostring((r and r.error) or "no answer")
    end
  end
  local counts = Apply.apply(catalog, items)
  scope:done()
  report("Keepers: analysis", counts, errors)
  return counts
end

function Keepers.cull(context, catalog)
  local byPath, paths = selection(catalog)
  local scope = LrProgressScope { title = "Keepers: culling " .. #paths .. " photo(s)", functionContext = context }
  local records, err = Client.job(paths, progressFn(scope))
  if not records then return LrDialogs.message("Keepers", err, "critical") end
  local items, errors, collections = {}, {}, {}
  for _, name in pairs(Keepers.COLLECTIONS) do collections[name] = {} end
  for _, rec in ipairs(records) do
    if rec.verdict and not rec.error then
      local role = Apply.role(rec)
      for _, file in ipairs(rec.files or { rec.path }) do
        for _, photo in ipairs(byPath[file] or {}) do
          items[#items + 1] = { photo = photo, verdict = rec }
          local name = Keepers.COLLECTIONS[role]
          if name and (role == "reject" or rec.group) then table.insert(collections[name], photo) end
        end
      end
    else
      errors[#errors + 1] = tostring(rec.path) .. ": " .. tostring(rec.error or "no verdict")
    end
  end
  local counts = Apply.apply(catalog, items, collections)
  scope:done()
  report("Keepers: bursts culled", counts, errors)
  return counts
end

function Keepers.similar(context, catalog)
  local photo = catalog:getTargetPhoto() or catalog:getTargetPhotos()[1]
  local path = photo:getRawMetadata("path")
  local k = Prefs.get().similarCount
  local hits, err, code = Client.similar(path, k)
  if not hits and code == "not_found" then  -- not analysed yet: analyse it, then ask again
    local _, perr = Client.predict({ path })
    if perr then return LrDialogs.message("Keepers", perr, "critical") end
    hits, err = Client.similar(path, k)
  end
  if not hits then return LrDialogs.message("Keepers", err, "critical") end
  local found = { photo }
  for _, h in ipairs(hits) do
    local p = catalog:findPhotoByPath(h.path)
    if p then found[#found + 1] = p end
  end
  local name = "Similar to " .. photo:getFormattedMetadata("fileName")
  local set, collection
  catalog:withWriteAccessDo("Keepers: collection set", function()
    set = catalog:createCollectionSet(Apply.ROOT, nil, true)
  end)
  catalog:withWriteAccessDo("Keepers: similar photos", function()
    collection = catalog:createCollection(name, set, true)
  end)
  catalog:withWriteAccessDo("Keepers: similar photos", function()
    collection:removePhotos(collection:getPhotos())
    collection:addPhotos(found)
  end)
  if catalog.setActiveSources then pcall(catalog.setActiveSources, catalog, { collection }) end
  LrDialogs.message("Keepers: similar photos", string.format("%d similar photo(s) in collection %q (of %d the "
    .. "daemon found; the others are not in this catalog).", #found - 1, name, #hits), "info")
  return found
end

-- run a command in an async task, with its errors shown in a dialog
function Keepers.start(kind)
  LrTasks.startAsyncTask(function()
    LrFunctionContext.callWithContext("Keepers." .. kind, function(context)
      context:addFailureHandler(function(_, message)
        LrDialogs.message("Keepers", "Keepers failed: " .. tostring(message), "critical")
      end)
      local catalog = LrApplication.activeCatalog()
      if #catalog:getTargetPhotos() == 0 then
        return LrDialogs.message("Keepers", "Select some photos first.", "info")
      end
      Keepers[kind](context, catalog)
    end)
  end, "Keepers." .. kind)
end

return Keepers
