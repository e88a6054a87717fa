--[[ The commands: Analyze selected photos and Cull bursts (a /v1/jobs batch over the selection, which finds bursts
across it: every good frame of a burst is not a pick; Cull bursts also puts picks, alternates and rejects into
collections under "Keepers"), Find similar (/v1/search/similar into a "Similar to ..." collection). Each runs in
an async task with a progress bar the user can cancel, and reports in a dialog: every selected photo the daemon
did not judge, and every answer that matches no selected photo, is listed, never passed over. ]]

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
Keepers.SHOWN = 12  -- errors listed in a dialog (the rest counted)
local DAEMON_SHARE = 0.8  -- the progress bar's part for the daemon's work; the catalog writes get the rest

-- photos by file path (virtual copies share their master's path), in one batch read
function Keepers.byPath(catalog, photos)
  local raw = catalog:batchGetRawMetadata(photos, { "path" })
  local byPath, paths = {}, {}
  for _, photo in ipairs(photos) do
    local path = raw[photo] and raw[photo].path
    if path then
      if not byPath[path] then
        byPath[path] = {}
        paths[#paths + 1] = path
      end
      table.insert(byPath[path], photo)
    end
  end
  return byPath, paths
end

-- the daemon's records matched to the photos: items to apply, collections (when wanted) and an error line for
-- each record that failed or matches no photo sent, and for each path sent that got no record
function Keepers.match(records, byPath, paths, withCollections)
  local items, errors, answered, seen = {}, {}, {}, {}
  local collections = withCollections and {} or nil
  if collections then for _, name in pairs(Keepers.COLLECTIONS) do collections[name] = {} end end
  for _, rec in ipairs(records) do
    local files = rec.files or { rec.path }
    for _, f in ipairs(files) do answered[f] = true end
    if rec.input then answered[rec.input] = true end
    if rec.verdict and not rec.error then
      local role, matched = Apply.role(rec), false
      for _, file in ipairs(files) do
        for _, photo in ipairs(byPath[file] or {}) do
          matched = true
          if not seen[photo] then
            seen[photo] = true
            items[#items + 1] = { photo = photo, verdict = rec }
            local name = Keepers.COLLECTIONS[role]
            if collections and name and (role == "reject" or rec.group) then table.insert(collections[name], photo) end
          end
        end
      end
      if not matched then
        errors[#errors + 1] = tostring(rec.path) .. ": the daemon's answer matches no photo sent (a path changed?)"
      end
    else
      errors[#errors + 1] = tostring(rec.input or rec.path) .. ": " .. tostring(rec.error or "no verdict")
    end
  end
  for _, path in ipairs(paths) do
    if not answered[path] then errors[#errors + 1] = path .. ": no answer from the daemon" end
  end
  return items, errors, collections
end

local function report(title, counts, errors)
  local msg = string.format("%d photo(s): %d rated, %d flagged, %d labelled, %d keyword(s) added.",
    counts.photos, counts.rated, counts.flagged, counts.labelled, counts.keywords)
  if counts.cancelled then
    msg = string.format("Cancelled after %d of %d photo(s); the others are unchanged.\n\n", counts.photos,
                        counts.total) .. msg
  end
  if #errors > 0 then
    msg = msg .. "\n\n" .. #errors .. " not analysed:\n"
      .. table.concat(errors, "\n", 1, math.min(#errors, Keepers.SHOWN))
    if #errors > Keepers.SHOWN then msg = msg .. "\n... and " .. (#errors - Keepers.SHOWN) .. " more" end
  end
  LrDialogs.message(title, msg, (#errors > 0 or counts.cancelled) and "warning" or "info")
end

-- one run over `photos`: a job (bursts grouped), then the catalog writes. opts: title, collections (Cull bursts),
-- quiet (the background loop: no dialog). Returns counts, errors; or nil, message, code
function Keepers.run(context, catalog, photos, opts)
  local byPath, paths = Keepers.byPath(catalog, photos)
  local scope = LrProgressScope { title = opts.title .. " (" .. #paths .. " photos)", functionContext = context }
  scope:setCancelable(true)
  local records, err, code = Client.job(paths, function(done, total)
    scope:setPortionComplete(DAEMON_SHARE * done / math.max(total, 1), 1)
    return scope:isCanceled()
  end)
  if not records then
    scope:done()
    if not opts.quiet then
      if code == "cancelled" then
        LrDialogs.message("Keepers", "Cancelled: the daemon stopped and no photo was changed.", "info")
      else
        LrDialogs.message("Keepers", err, "critical")
      end
    end
    return nil, err, code
  end
  local items, errors, collections = Keepers.match(records, byPath, paths, opts.collections)
  local counts = Apply.apply(catalog, items, collections, function(done, total)
    scope:setPortionComplete(DAEMON_SHARE + (1 - DAEMON_SHARE) * done / math.max(total, 1), 1)
    return scope:isCanceled()
  end)
  scope:done()
  if not opts.quiet then report(opts.title, counts, errors) end
  return counts, errors
end

function Keepers.analyze(context, catalog)
  return Keepers.run(context, catalog, catalog:getTargetPhotos(), { title = "Keepers: analysis" })
end

function Keepers.cull(context, catalog)
  return Keepers.run(context, catalog, catalog:getTargetPhotos(), { title = "Keepers: bursts culled",
                                                                     collections = true })
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
  if catalog.setActiveSources then LrTasks.pcall(catalog.setActiveSources, catalog, { collection }) end
  LrDialogs.message("Keepers: similar photos", string.format("%d similar photo(s) in collection %q (of %d the "
    .. "daemon found; the others are not in this catalog).", #found - 1, name, #hits), "info")
  return found
end

function Keepers.signals(context, catalog)
  return require("Signals").send(context, catalog)
end

function Keepers.choices(context, catalog)
  local byPath, paths = Keepers.byPath(catalog, catalog:getTargetPhotos())
  return require("Choices").apply(context, catalog, byPath, paths)
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
