--[[ Writing verdicts into the catalog through the SDK: star rating, pick flag, colour label, keywords under
"Keepers", and the plug-in's metadata fields. What the photographer set is theirs: a rating, flag or label is
written only where there is none or it is still the one Keepers set (recorded in ratingSet/pickSet/labelSet).
Keywords are created in one write gate and attached in the next (the SDK makes a new keyword usable only after
its gate returns); collections the same way. ]]

local Prefs = require "Prefs"

local Apply = {}
Apply.ROOT = "Keepers"
Apply.PICK = { reject = -1, pick = 1, keeper = 1, alternate = 0, other = 0 }
local TIMEOUT = { timeout = 60 }

-- a verdict's role, as core/io/hosts.py role(): reject beats everything; a burst's alternate is not a keeper
function Apply.role(v)
  if v.stars == -1 then return "reject" end
  for _, k in ipairs(v.keywords or {}) do
    if k == "group|alternate" then return "alternate" end
  end
  if v.pick and v.group then return "pick" end
  if v.verdict == "good" then return "keeper" end
  return "other"
end

-- "animal|bird" -> { "Keepers", "animal", "bird" }
function Apply.path(keyword)
  local parts = { Apply.ROOT }
  for c in (keyword .. "|"):gmatch("([^|]*)|") do
    c = c:gsub("^%s+", ""):gsub("%s+$", "")
    if c ~= "" and not (#parts == 1 and c == Apply.ROOT) then parts[#parts + 1] = c end
  end
  return #parts > 1 and parts or nil
end

local function keywordPath(kw)
  local names = {}
  while kw do
    table.insert(names, 1, kw:getName())
    kw = kw:getParent()
  end
  return table.concat(names, "|")
end

local function ours(current, set)
  return set ~= nil and tostring(current) == set
end

-- what to change on one photo (reads only)
function Apply.plan(photo, v, prefs)
  local role = Apply.role(v)
  local p = { role = role, keywords = {} }
  local rating = photo:getRawMetadata("rating") or 0
  local value = math.max(0, v.stars or 0)
  local ratingSet = photo:getPropertyForPlugin(_PLUGIN, "ratingSet")
  if prefs.overwriteRatings or (rating == 0 and ratingSet == nil) or ours(rating, ratingSet) then
    p.rating, p.ratingSet = value, tostring(value)
  end
  if prefs.setPickFlags then
    local pick, pickSet = photo:getRawMetadata("pickStatus") or 0, photo:getPropertyForPlugin(_PLUGIN, "pickSet")
    if pick == 0 or ours(pick, pickSet) then p.pickStatus, p.pickSet = Apply.PICK[role], tostring(Apply.PICK[role]) end
  end
  local label, labelSet = photo:getRawMetadata("colorNameForLabel") or "none",
                          photo:getPropertyForPlugin(_PLUGIN, "labelSet")
  if label == "none" or label == "" or ours(label, labelSet) then
    p.label = Prefs.label(prefs, role)
    p.labelSet = p.label ~= "none" and p.label or nil
  end
  if prefs.writeKeywords then
    for _, k in ipairs(v.keywords or {}) do
      local parts = Apply.path(k)
      if parts then p.keywords[#p.keywords + 1] = parts end
    end
  end
  local reasons = {}
  for _, r in ipairs(v.reasons or {}) do reasons[#reasons + 1] = r.message end
  p.fields = { score = string.format("%.1f", v.score or 0), verdict = v.verdict or "",
               reasons = table.concat(reasons, "; "), group = v.group or "" }
  return p
end

local function createKeywords(catalog, plans)
  local cache = {}
  catalog:withWriteAccessDo("Keepers: create keywords", function()
    for _, p in ipairs(plans) do
      for _, parts in ipairs(p.keywords) do
        local parent, key = nil, nil
        for _, name in ipairs(parts) do
          key = key and (key .. "|" .. name) or name
          if not cache[key] then
            cache[key] = catalog:createKeyword(name, {}, true, parent, true)  -- returns an existing one
          end
          parent = cache[key]
        end
      end
    end
  end, TIMEOUT)
  return cache
end

local function applyOne(photo, p, cache)
  if p.rating ~= nil then
    photo:setRawMetadata("rating", p.rating > 0 and p.rating or nil)
    photo:setPropertyForPlugin(_PLUGIN, "ratingSet", p.ratingSet)
  end
  if p.pickStatus ~= nil then
    photo:setRawMetadata("pickStatus", p.pickStatus)
    photo:setPropertyForPlugin(_PLUGIN, "pickSet", p.pickSet)
  end
  if p.label ~= nil then
    photo:setRawMetadata("colorNameForLabel", p.label)
    photo:setPropertyForPlugin(_PLUGIN, "labelSet", p.labelSet)
  end
  if p.keywords then
    local want = {}
    for _, parts in ipairs(p.keywords) do
      local key = table.concat(parts, "|")
      want[key] = true
      photo:addKeyword(cache[key])
    end
    for _, kw in ipairs(photo:getRawMetadata("keywords") or {}) do  -- Keepers' keywords no longer predicted
      local key = keywordPath(kw)
      if key:sub(1, #Apply.ROOT + 1) == Apply.ROOT .. "|" and not want[key] then photo:removeKeyword(kw) end
    end
  end
  for id, value in pairs(p.fields) do photo:setPropertyForPlugin(_PLUGIN, id, value) end
end

-- items: { { photo = LrPhoto, verdict = table } }; collections: optional { name = { photos } } under "Keepers"
function Apply.apply(catalog, items, collections)
  local prefs = Prefs.get()
  local plans, counts = {}, { photos = 0, rated = 0, flagged = 0, labelled = 0, keywords = 0 }
  for i, it in ipairs(items) do plans[i] = Apply.plan(it.photo, it.verdict, prefs) end
  local cache = createKeywords(catalog, plans)
  local targets = {}
  if collections then
    local set
    catalog:withWriteAccessDo("Keepers: collection set", function()
      set = catalog:createCollectionSet(Apply.ROOT, nil, true)
    end, TIMEOUT)
    catalog:withWriteAccessDo("Keepers: collections", function()
      for name in pairs(collections) do targets[name] = catalog:createCollection(name, set, true) end
    end, TIMEOUT)
  end
  catalog:withWriteAccessDo("Keepers: apply verdicts", function()
    for i, it in ipairs(items) do
      local p = plans[i]
      applyOne(it.photo, p, cache)
      counts.photos = counts.photos + 1
      counts.rated = counts.rated + (p.rating and 1 or 0)
      counts.flagged = counts.flagged + ((p.pickStatus and p.pickStatus ~= 0) and 1 or 0)
      counts.labelled = counts.labelled + (p.labelSet and 1 or 0)
      counts.keywords = counts.keywords + #p.keywords
    end
    if collections then  -- this run's answer replaces the last one for these photos
      local all = {}
      for _, it in ipairs(items) do all[#all + 1] = it.photo end
      for _, c in pairs(targets) do c:removePhotos(all) end
      for name, photos in pairs(collections) do
        if #photos > 0 then targets[name]:addPhotos(photos) end
      end
    end
  end, TIMEOUT)
  return counts
end

return Apply
