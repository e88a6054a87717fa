--[[ "Apply my choices from the review page": the stars, pick/reject flag and colour label the photographer gave
in Keepers' review page (`keepers review`, or the daemon's page) go into the catalog on the selected photos. A
JPEG, TIFF, PSD, PNG or DNG has no sidecar Lightroom reads, so the page keeps its choice in Keepers' catalog
(POST /v1/review/choices reads it back). What is applied is the photographer's: the plug-in's record that it set
the rating, flag or label (ratingSet, pickSet, labelSet) is cleared, so a later "Analyze" or "Cull bursts" never
changes it, and "Send my ratings" sends it as theirs. ]]

local LrDialogs = import "LrDialogs"
local Client = require "Client"
local JSON = require "JSON"

local Choices = {}
Choices.PICK = { pick = 1, reject = -1 }
local TIMEOUT = { timeout = 60 }
local CHUNK = 500  -- photos per write gate

-- the choices for `paths`, { path = choice }, asked in requests of Client.PAGE paths
function Choices.fetch(paths)
  local out = {}
  for first = 1, #paths, Client.PAGE do
    local part = {}
    for i = first, math.min(first + Client.PAGE - 1, #paths) do part[#part + 1] = paths[i] end
    local data, err, code = Client.request("POST", "/v1/review/choices", { paths = JSON.array(part) })
    if not data then return nil, err, code end
    for _, c in ipairs(data.choices or {}) do out[c.path] = c end
  end
  return out
end

local function applyOne(photo, c, counts)
  if c.rating ~= nil then
    photo:setRawMetadata("rating", c.rating > 0 and c.rating or nil)
    photo:setPropertyForPlugin(_PLUGIN, "ratingSet", nil)
    counts.rated = counts.rated + 1
  end
  if c.flag ~= nil then
    photo:setRawMetadata("pickStatus", Choices.PICK[c.flag])
    photo:setPropertyForPlugin(_PLUGIN, "pickSet", nil)
    counts.flagged = counts.flagged + 1
  end
  if c.label ~= nil then
    photo:setRawMetadata("colorNameForLabel", c.label)
    photo:setPropertyForPlugin(_PLUGIN, "labelSet", nil)
    counts.labelled = counts.labelled + 1
  end
end

function Choices.apply(context, catalog, byPath, paths)
  local found, err = Choices.fetch(paths)
  if not found then return LrDialogs.message("Keepers", err, "critical") end
  local items = {}
  for _, path in ipairs(paths) do
    for _, photo in ipairs(found[path] and byPath[path] or {}) do items[#items + 1] = { photo, found[path] } end
  end
  local counts = { photos = #items, rated = 0, flagged = 0, labelled = 0 }
  for first = 1, #items, CHUNK do
    catalog:withWriteAccessDo("Keepers: apply the review page's choices", function()
      for i = first, math.min(first + CHUNK - 1, #items) do applyOne(items[i][1], items[i][2], counts) end
    end, TIMEOUT)
  end
  if #items == 0 then
    return LrDialogs.message("Keepers", "No choice was made in the review page for these " .. #paths
      .. " photo(s).", "info"), counts
  end
  LrDialogs.message("Keepers: your choices from the review page", string.format("%d photo(s): %d rated, "
    .. "%d flagged, %d labelled, as you chose them in the page. Keepers will not change them.", counts.photos,
    counts.rated, counts.flagged, counts.labelled), "info")
  return counts
end

return Choices
