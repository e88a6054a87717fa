--[[ Writing verdicts into the catalog through the SDK: star rating, pick flag, colour label, keywords under
"Keepers", and the plug-in's metadata fields. What the photographer set is theirs: a rating, flag or label is
written only where there is none or it is still the one Keepers set (recorded in ratingSet/pickSet/labelSet).

Keywords: a new keyword is usable (as a parent, on a photo, for its attributes) only after the write gate that made
it returns, so they are made one level per gate (Keepers, then Keepers|animal, then Keepers|animal|bird) and
attached in a later gate. Keepers' judgement of a photo (flaw|..., group|...) is never included on export, nor is
the Keepers root; its content keywords (animal|bird) are when "exportContentKeywords" is on. Keywords an earlier
version made with other export settings are put right each run.

Photos are read in one batch and written in gates of CHUNK photos: Lightroom is held for one chunk at a time and
a cancel is seen between chunks. ]]

local Prefs = require "Prefs"

local Apply = {}
Apply.ROOT = "Keepers"
Apply.PICK = { reject = -1, pick = 1, keeper = 1, alternate = 0, other = 0 }
Apply.JUDGEMENT = { flaw = true, group = true, verdict = true }  -- top levels that say what Keepers thinks
Apply.CHUNK = 500  -- photos per write gate
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

-- whether the keyword at `parts` (Keepers, animal, ...) goes out with an export
function Apply.exported(parts, prefs)
  if #parts < 2 or Apply.JUDGEMENT[parts[2]] then return false end
  return prefs.exportContentKeywords and true or false
end

-- a keyword's names from the top: { "Keepers", "animal", "bird" }
function Apply.keywordParts(kw)
  local names = {}
  while kw do
    table.insert(names, 1, kw:getName())
    kw = kw:getParent()
  end
  return names
end

local function ours(current, set)
  return set ~= nil and tostring(current) == set
end

-- what each photo holds now, read in two batches (one call each, not several per photo)
function Apply.read(catalog, photos)
  local raw = catalog:batchGetRawMetadata(photos, { "rating", "pickStatus", "colorNameForLabel", "keywords" })
  local props = catalog:batchGetPropertyForPlugin(photos, _PLUGIN, { "ratingSet", "pickSet", "labelSet" })
  local out = {}
  for _, photo in ipairs(photos) do
    local r, p = raw[photo] or {}, props[photo] or {}
    out[photo] = { rating = r.rating or 0, pickStatus = r.pickStatus or 0, label = r.colorNameForLabel or "none",
                   keywords = r.keywords or {}, ratingSet = p.ratingSet, pickSet = p.pickSet, labelSet = p.labelSet }
  end
  return out
end

-- what to change on one photo (reads only): `info` is Apply.read's for it
function Apply.plan(info, v, prefs)
  local role = Apply.role(v)
  local p = { role = role, keywords = {}, current = info.keywords }
  local value = math.max(0, v.stars or 0)
  if prefs.overwriteRatings or (info.rating == 0 and info.ratingSet == nil) or ours(info.rating, info.ratingSet) then
    p.rating, p.ratingSet = value, tostring(value)
  end
  if prefs.setPickFlags and (info.pickStatus == 0 or ours(info.pickStatus, info.pickSet)) then
    p.pickStatus, p.pickSet = Apply.PICK[role], tostring(Apply.PICK[role])
  end
  if info.label == "none" or info.label == "" or ours(info.label, info.labelSet) then
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
  for _, r in ipairs(v.reasons or {}) do  -- a keeper's flaw that cost nothing is not listed, as in `keepers show`
    if not (r.role == "measured" and v.verdict == "good") then reasons[#reasons + 1] = r.message end
  end
  p.fields = { score = string.format("%.1f", v.score or 0), verdict = v.verdict or "",
               reasons = table.concat(reasons, "; "), group = v.group or "" }
  return p
end

-- every keyword the plans name, level by level: one gate per level, each level's parents made by the one before
local function createKeywords(catalog, plans, prefs)
  local cache, levels = {}, {}
  for _, p in ipairs(plans) do
    for _, parts in ipairs(p.keywords) do
      for depth = 1, #parts do
        local key = table.concat(parts, "|", 1, depth)
        levels[depth] = levels[depth] or {}
        if not levels[depth][key] then levels[depth][key] = { unpack(parts, 1, depth) } end
      end
    end
  end
  for depth = 1, #levels do
    catalog:withWriteAccessDo("Keepers: create keywords", function()
      for key, parts in pairs(levels[depth]) do
        local parent = depth > 1 and cache[table.concat(parts, "|", 1, depth - 1)] or nil
        local kw = catalog:createKeyword(parts[depth], {}, Apply.exported(parts, prefs), parent, true)
        if not kw then error("Lightroom did not create the keyword " .. key) end
        cache[key] = kw
      end
    end, TIMEOUT)
  end
  return cache
end

-- every keyword under Keepers gets the export setting it should have (a keyword made by a version before 0.2 was
-- included on export, and the content setting may have changed since)
function Apply.keywordExport(catalog, prefs)
  local wrong = {}
  local function walk(kw, parts)
    if kw:getAttributes().includeOnExport ~= Apply.exported(parts, prefs) then
      wrong[#wrong + 1] = { kw = kw, want = Apply.exported(parts, prefs) }
    end
    for _, child in ipairs(kw:getChildren()) do
      local sub = { unpack(parts) }
      sub[#sub + 1] = child:getName()
      walk(child, sub)
    end
  end
  for _, kw in ipairs(catalog:getKeywords()) do
    if kw:getName() == Apply.ROOT then walk(kw, { Apply.ROOT }) end
  end
  if #wrong > 0 then
    catalog:withWriteAccessDo("Keepers: keyword export settings", function()
      for _, w in ipairs(wrong) do w.kw:setAttributes { includeOnExport = w.want } end
    end, TIMEOUT)
  end
  return #wrong
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
    for _, kw in ipairs(p.current) do  -- Keepers' keywords no longer predicted
      local parts = Apply.keywordParts(kw)
      if parts[1] == Apply.ROOT and #parts > 1 and not want[table.concat(parts, "|")] then photo:removeKeyword(kw) end
    end
  end
  for id, value in pairs(p.fields) do photo:setPropertyForPlugin(_PLUGIN, id, value) end
end

-- items: { { photo = LrPhoto, verdict = table } }; collections: optional { name = { photos } } under "Keepers";
-- progress(done, total): returning true stops before the next chunk (the counts then say `cancelled`)
function Apply.apply(catalog, items, collections, progress)
  local prefs = Prefs.get()
  local counts = { photos = 0, rated = 0, flagged = 0, labelled = 0, keywords = 0, total = #items }
  local photos = {}
  for i, it in ipairs(items) do photos[i] = it.photo end
  local info = Apply.read(catalog, photos)
  local plans = {}
  for i, it in ipairs(items) do plans[i] = Apply.plan(info[it.photo], it.verdict, prefs) end
  local cache = createKeywords(catalog, plans, prefs)
  Apply.keywordExport(catalog, prefs)
  local targets, member = {}, {}
  if collections then
    local set
    catalog:withWriteAccessDo("Keepers: collection set", function()
      set = catalog:createCollectionSet(Apply.ROOT, nil, true)
    end, TIMEOUT)
    catalog:withWriteAccessDo("Keepers: collections", function()
      for name in pairs(collections) do targets[name] = catalog:createCollection(name, set, true) end
    end, TIMEOUT)
    for name, list in pairs(collections) do
      for _, photo in ipairs(list) do member[photo] = name end
    end
  end
  for first = 1, #items, Apply.CHUNK do
    if progress and progress(first - 1, #items) then
      counts.cancelled = true
      break
    end
    local last = math.min(first + Apply.CHUNK - 1, #items)
    catalog:withWriteAccessDo("Keepers: apply verdicts", function()
      local chunk, into = {}, {}
      for i = first, last do
        local p, photo = plans[i], items[i].photo
        applyOne(photo, p, cache)
        counts.photos = counts.photos + 1
        counts.rated = counts.rated + (p.rating and 1 or 0)
        counts.flagged = counts.flagged + ((p.pickStatus and p.pickStatus ~= 0) and 1 or 0)
        counts.labelled = counts.labelled + (p.labelSet and 1 or 0)
        counts.keywords = counts.keywords + #p.keywords
        chunk[#chunk + 1] = photo
        local name = member[photo]
        if name then
          into[name] = into[name] or {}
          table.insert(into[name], photo)
        end
      end
      if collections then  -- this run's answer replaces the last one for these photos
        for _, c in pairs(targets) do c:removePhotos(chunk) end
        for name, list in pairs(into) do targets[name]:addPhotos(list) end
      end
    end, TIMEOUT)
  end
  if progress and not counts.cancelled then progress(#items, #items) end
  return counts
end

return Apply
