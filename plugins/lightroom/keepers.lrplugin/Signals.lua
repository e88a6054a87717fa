--[[ "Send my ratings and flags to Keepers": the photographer's own picks, rejects, stars, colour labels and keywords
on the selected photos go to the daemon (/v1/signals), which keeps them for learning their taste. What Keepers set
is not theirs and is left out: a rating, flag or label still equal to the one Keepers wrote (ratingSet, pickSet,
labelSet) and the keywords under "Keepers". Every selected photo is sent, one with nothing of theirs too: its
signals replace those sent before, so a flag taken off since is gone from Keepers as well. A virtual copy shares
its master's file; the master's values are sent. ]]

local LrDialogs = import "LrDialogs"
local LrProgressScope = import "LrProgressScope"
local JSON = require "JSON"
local Apply = require "Apply"
local Client = require "Client"

local Signals = {}

-- { { path, pick, rating, label, keywords } } and the counts of each kind
function Signals.collect(catalog, photos)
  local raw = catalog:batchGetRawMetadata(photos, { "path", "isVirtualCopy", "rating", "pickStatus",
                                                    "colorNameForLabel", "keywords" })
  local props = catalog:batchGetPropertyForPlugin(photos, _PLUGIN, { "ratingSet", "pickSet", "labelSet" })
  local byPath, order = {}, {}
  for _, photo in ipairs(photos) do
    local r = raw[photo]
    if r and r.path then
      local prev = byPath[r.path]
      if not prev then order[#order + 1] = r.path end
      if not prev or (prev.raw.isVirtualCopy and not r.isVirtualCopy) then
        byPath[r.path] = { raw = r, props = props[photo] or {} }
      end
    end
  end
  local out, counts = {}, { picks = 0, rejects = 0, ratings = 0, labels = 0, keywords = 0 }
  for _, path in ipairs(order) do
    local r, p = byPath[path].raw, byPath[path].props
    local s = { path = path, keywords = JSON.array {} }
    local pick, rating, label = r.pickStatus or 0, r.rating or 0, r.colorNameForLabel or "none"
    if pick ~= 0 and tostring(pick) ~= p.pickSet then
      s.pick = pick
      if pick == 1 then counts.picks = counts.picks + 1 else counts.rejects = counts.rejects + 1 end
    end
    if rating > 0 and tostring(rating) ~= p.ratingSet then s.rating, counts.ratings = rating, counts.ratings + 1 end
    if label ~= "none" and label ~= "" and label ~= p.labelSet then
      s.label, counts.labels = label, counts.labels + 1
    end
    for _, kw in ipairs(r.keywords or {}) do
      local parts = Apply.keywordParts(kw)
      if parts[1] ~= Apply.ROOT then
        table.insert(s.keywords, table.concat(parts, "|"))
        counts.keywords = counts.keywords + 1
      end
    end
    out[#out + 1] = s
  end
  return out, counts
end

function Signals.send(context, catalog)
  local photos = catalog:getTargetPhotos()
  local list, counts = Signals.collect(catalog, photos)
  local scope = LrProgressScope { title = "Keepers: sending your ratings (" .. #list .. " photos)",
                                  functionContext = context }
  scope:setCancelable(true)
  local stored, err, code = Client.signals(list, function(done, total)
    scope:setPortionComplete(done, total)
    return scope:isCanceled()
  end)
  scope:done()
  if not stored then
    if code == "cancelled" then return LrDialogs.message("Keepers", "Cancelled.", "info") end
    return LrDialogs.message("Keepers", err, "critical")
  end
  LrDialogs.message("Keepers: your ratings sent", string.format("%d photo(s) sent: %d pick(s), %d reject(s), "
    .. "%d star rating(s), %d colour label(s), %d keyword(s). Ratings, flags, labels and keywords Keepers set "
    .. "itself were left out.", stored.photos, counts.picks, counts.rejects, counts.ratings, counts.labels,
    counts.keywords), "info")
  return stored, counts
end

return Signals
