--[[ A stand-in for the Lightroom Classic SDK, enough to run the Keepers plug-in under plain Lua 5.1 and record
what it does to the catalog. It enforces the SDK's documented rules, so a plug-in that breaks them fails here:
  - LrHttp and catalog writes only inside an async task (LrTasks.startAsyncTask);
  - setRawMetadata / addKeyword / setPropertyForPlugin / collection changes only inside withWriteAccessDo,
    which cannot nest;
  - a keyword or collection set created in a write gate is usable (added to a photo, used as a parent of a
    collection) only after that gate returns (LrCatalog reference on createKeyword);
  - only the documented values for rating (nil, 0..5), pickStatus (-1, 0, 1), colorNameForLabel;
  - plug-in properties only for fields declared in the plug-in's MetadataProvider.lua, as strings/numbers/nil.
LrHttp forwards to a real server with curl. ]]

local SDK = { log = {}, dialogs = {}, gates = {}, errors = {}, prefs = {}, active_sources = nil }
local state = { in_task = 0, gate = nil, gate_id = 0 }

local function fail(msg) error("SDK: " .. msg, 3) end
local function need_task(what) if state.in_task == 0 then fail(what .. " must run inside an async task") end end
local function need_gate(what)
  if not state.gate then fail(what .. " must be called inside catalog:withWriteAccessDo") end
end
local function usable(obj, what)  -- created in the still-open gate: not usable yet
  if obj and obj._gate and state.gate and obj._gate == state.gate_id then
    fail(what .. " " .. obj._name .. " was created in this write gate; it is usable after the gate returns")
  end
end

-- LrTasks ------------------------------------------------------------------------------------------------------
local LrTasks = {}
function LrTasks.startAsyncTask(fn, name)
  state.in_task = state.in_task + 1
  local ok, err = xpcall(fn, debug.traceback)
  state.in_task = state.in_task - 1
  if not ok then table.insert(SDK.errors, tostring(err)) end
end
function LrTasks.sleep(s) need_task("LrTasks.sleep") os.execute("sleep " .. tonumber(s)) end
function LrTasks.yield() end
function LrTasks.canYield() return state.in_task > 0 end
LrTasks.pcall = pcall

-- LrFunctionContext --------------------------------------------------------------------------------------------
local LrFunctionContext = {}
function LrFunctionContext.callWithContext(name, fn, ...)
  local ctx = { cleanup = {}, failure = {} }
  function ctx:addCleanupHandler(h) table.insert(self.cleanup, h) end
  function ctx:addFailureHandler(h) table.insert(self.failure, h) end
  local args = { ... }
  local ok, err = pcall(function() return fn(ctx, unpack(args)) end)
  if not ok then for _, h in ipairs(ctx.failure) do h(false, err) end end
  for _, h in ipairs(ctx.cleanup) do h(ok, err) end
  if not ok and #ctx.failure == 0 then error(err, 0) end
end
function LrFunctionContext.postAsyncTaskWithContext(name, fn)
  LrTasks.startAsyncTask(function() LrFunctionContext.callWithContext(name, fn) end)
end

-- LrHttp: real HTTP through curl -------------------------------------------------------------------------------
local function sh(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function curl(method, url, body, headers, timeout)
  need_task("LrHttp." .. method:lower())
  local out, bodyfile = os.tmpname(), nil
  local cmd = { "curl", "-s", "-X", method, "-o", sh(out), "-w", "'%{http_code}'", "--max-time",
                tostring(math.floor(tonumber(timeout) or 60)) }
  for _, h in ipairs(headers or {}) do
    if type(h) ~= "table" or not h.field then fail("LrHttp headers are { { field = ..., value = ... } }") end
    table.insert(cmd, "-H " .. sh(h.field .. ": " .. h.value))
  end
  if body then
    bodyfile = os.tmpname()
    local f = io.open(bodyfile, "wb") f:write(body) f:close()
    table.insert(cmd, "--data-binary @" .. sh(bodyfile))
  end
  table.insert(cmd, sh(url))
  local p = io.popen(table.concat(cmd, " "))
  local code = tonumber(p:read("*a"))
  p:close()
  local f = io.open(out, "rb")
  local resp = f and f:read("*a")
  if f then f:close() end
  os.remove(out)
  if bodyfile then os.remove(bodyfile) end
  table.insert(SDK.log, { method = method, url = url, status = code })
  if not code or code == 0 then return nil, { error = { errorCode = "networkError", name = "cannot connect" } } end
  return resp, { status = code }
end
local LrHttp = {}
function LrHttp.get(url, headers, timeout) return curl("GET", url, nil, headers, timeout) end
function LrHttp.post(url, body, headers, method, timeout) return curl(method or "POST", url, body, headers, timeout) end

-- keywords, collections, photos, catalog -------------------------------------------------------------------------
local Keyword = {}
Keyword.__index = Keyword
function Keyword:getName() return self._name end
function Keyword:getParent() return self._parent end
function Keyword:getChildren() return self._children end
local function keyword_path(kw)
  local names = {}
  while kw do table.insert(names, 1, kw._name) kw = kw._parent end
  return table.concat(names, "|")
end

local LABELS = { none = true, red = true, yellow = true, green = true, blue = true, purple = true }
local Photo = {}
Photo.__index = Photo
function Photo:getRawMetadata(key)
  if key == "keywords" then
    local out = {}
    for _, kw in ipairs(self._keywords) do out[#out + 1] = kw end
    return out
  end
  if key == "colorNameForLabel" then return self.label or "none" end
  if key == "rating" then return (self.rating and self.rating > 0) and self.rating or nil end
  if key == "pickStatus" then return self.pickStatus or 0 end
  if key == "path" or key == "isVirtualCopy" then return self[key] end
  fail("getRawMetadata key not modelled: " .. tostring(key))
end
function Photo:getFormattedMetadata(key)
  if key == "fileName" then return self.path:match("[^/]+$") end
  fail("getFormattedMetadata key not modelled: " .. tostring(key))
end
function Photo:setRawMetadata(key, value)
  need_gate("photo:setRawMetadata")
  if key == "rating" then
    if value ~= nil and (type(value) ~= "number" or value < 0 or value > 5 or value % 1 ~= 0) then
      fail("rating must be nil or 0..5, not " .. tostring(value))
    end
    self.rating = value
  elseif key == "pickStatus" then
    if value ~= -1 and value ~= 0 and value ~= 1 then fail("pickStatus must be -1, 0 or 1, not " .. tostring(value)) end
    self.pickStatus = value
  elseif key == "colorNameForLabel" then
    if not LABELS[value] then fail("colorNameForLabel must be red/yellow/green/blue/purple/none: " .. tostring(value)) end
    self.label = value
  else
    fail("setRawMetadata key not modelled: " .. tostring(key))
  end
end
function Photo:addKeyword(kw)
  need_gate("photo:addKeyword")
  if getmetatable(kw) ~= Keyword then fail("addKeyword needs an LrKeyword, got " .. tostring(kw)) end
  usable(kw, "keyword")
  for _, k in ipairs(self._keywords) do if k == kw then return end end
  table.insert(self._keywords, kw)
end
function Photo:removeKeyword(kw)
  need_gate("photo:removeKeyword")
  for i, k in ipairs(self._keywords) do if k == kw then table.remove(self._keywords, i) return end end
end
function Photo:getPropertyForPlugin(plugin, id)
  if not SDK.fields[id] then fail("plug-in property " .. tostring(id) .. " is not declared in MetadataProvider.lua") end
  return self._props[id]
end
function Photo:setPropertyForPlugin(plugin, id, value)
  need_gate("photo:setPropertyForPlugin")
  if plugin ~= _PLUGIN then fail("setPropertyForPlugin needs _PLUGIN") end
  if not SDK.fields[id] then fail("plug-in property " .. tostring(id) .. " is not declared in MetadataProvider.lua") end
  if value ~= nil and type(value) ~= "string" and type(value) ~= "number" then fail("property values: string/number") end
  self._props[id] = value
end

local Collection = {}
Collection.__index = Collection
function Collection:getName() return self._name end
function Collection:getPhotos() local o = {} for _, p in ipairs(self._photos) do o[#o + 1] = p end return o end
function Collection:addPhotos(photos)
  need_gate("collection:addPhotos")
  usable(self, "collection")
  for _, p in ipairs(photos) do
    local have = false
    for _, q in ipairs(self._photos) do if q == p then have = true end end
    if not have then table.insert(self._photos, p) end
  end
end
function Collection:removePhotos(photos)
  need_gate("collection:removePhotos")
  for _, p in ipairs(photos) do
    for i = #self._photos, 1, -1 do if self._photos[i] == p then table.remove(self._photos, i) end end
  end
end

local Catalog = {}
Catalog.__index = Catalog
function Catalog:withWriteAccessDo(name, fn, opts)
  need_task("catalog:withWriteAccessDo")
  if state.gate then fail("withWriteAccessDo cannot nest (inside " .. state.gate .. ")") end
  state.gate, state.gate_id = name, state.gate_id + 1
  table.insert(SDK.gates, name)
  local ok, err = pcall(fn, {})
  state.gate = nil
  if not ok then error(err, 0) end
end
function Catalog:getTargetPhotos()
  local out = {}
  for _, p in ipairs(self._photos) do if p.selected then out[#out + 1] = p end end
  return out
end
function Catalog:getTargetPhoto() return self:getTargetPhotos()[1] end
function Catalog:findPhotoByPath(path)
  for _, p in ipairs(self._photos) do if p.path == path and not p.isVirtualCopy then return p end end
end
function Catalog:createKeyword(name, synonyms, includeOnExport, parent, returnExisting)
  need_gate("catalog:createKeyword")
  if type(name) ~= "string" or name == "" or name:find("|", 1, true) then fail("bad keyword name " .. tostring(name)) end
  local siblings = parent and parent._children or self._keywords
  for _, kw in ipairs(siblings) do
    if kw._name == name then return returnExisting and kw or false end
  end
  local kw = setmetatable({ _name = name, _parent = parent, _children = {}, _gate = state.gate_id }, Keyword)
  table.insert(siblings, kw)
  return kw
end
function Catalog:keyword(path)  -- harness helper: an existing keyword (created outside any gate)
  local parent, kw = nil, nil
  for name in path:gmatch("[^|]+") do
    local siblings = parent and parent._children or self._keywords
    kw = nil
    for _, k in ipairs(siblings) do if k._name == name then kw = k end end
    if not kw then
      kw = setmetatable({ _name = name, _parent = parent, _children = {} }, Keyword)
      table.insert(siblings, kw)
    end
    parent = kw
  end
  return kw
end
local function find_or_make(list, name, parent, meta, returnExisting)
  for _, c in ipairs(list) do
    if c._name == name and c._parent == parent then return returnExisting and c or nil end
  end
  local c = setmetatable({ _name = name, _parent = parent, _photos = {}, _gate = state.gate_id }, meta)
  table.insert(list, c)
  return c
end
function Catalog:createCollectionSet(name, parent, returnExisting)
  need_gate("catalog:createCollectionSet")
  usable(parent, "collection set")
  return find_or_make(self._sets, name, parent, {}, returnExisting)
end
function Catalog:createCollection(name, parent, returnExisting)
  need_gate("catalog:createCollection")
  usable(parent, "collection set")
  return find_or_make(self._collections, name, parent, Collection, returnExisting)
end
function Catalog:setActiveSources(sources) SDK.active_sources = sources end

function SDK.catalog(photos)
  local c = setmetatable({ _photos = {}, _keywords = {}, _sets = {}, _collections = {} }, Catalog)
  for _, spec in ipairs(photos) do
    local p = setmetatable({ path = spec.path, rating = spec.rating, pickStatus = spec.pickStatus, label = spec.label,
                             selected = spec.selected ~= false, isVirtualCopy = spec.isVirtualCopy or false,
                             _keywords = {}, _props = {} }, Photo)
    for _, k in ipairs(spec.keywords or {}) do table.insert(p._keywords, c:keyword(k)) end
    for k, v in pairs(spec.properties or {}) do p._props[k] = v end
    table.insert(c._photos, p)
  end
  SDK.the_catalog = c
  return c
end

-- what the plug-in left in the catalog, as plain tables
function SDK.snapshot(c)
  local photos, collections = {}, {}
  for _, p in ipairs(c._photos) do
    local kws = {}
    for _, kw in ipairs(p._keywords) do kws[#kws + 1] = keyword_path(kw) end
    table.sort(kws)
    photos[#photos + 1] = { path = p.path, rating = p.rating, pickStatus = p.pickStatus or 0, label = p.label or "none",
                            keywords = kws, properties = p._props, isVirtualCopy = p.isVirtualCopy }
  end
  for _, col in ipairs(c._collections) do
    local paths = {}
    for _, p in ipairs(col._photos) do paths[#paths + 1] = p.path end
    table.sort(paths)
    collections[#collections + 1] = { name = col._name, set = col._parent and col._parent._name, photos = paths }
  end
  local active
  for _, s in ipairs(SDK.active_sources or {}) do active = s._name end
  return { photos = photos, collections = collections, gates = SDK.gates, dialogs = SDK.dialogs, errors = SDK.errors,
           http = SDK.log, active_source = active }
end

-- dialogs, views, prefs and the rest ---------------------------------------------------------------------------
local LrDialogs = {}
function LrDialogs.message(title, msg, style) table.insert(SDK.dialogs, { title = title, message = msg, style = style }) end
function LrDialogs.showError(err) table.insert(SDK.dialogs, { title = "error", message = tostring(err), style = "critical" }) end
function LrDialogs.presentModalDialog(args)
  if type(args.contents) ~= "table" then fail("presentModalDialog needs view contents") end
  table.insert(SDK.dialogs, { title = args.title, message = "modal", style = "modal", contents = args.contents })
  return "ok"
end
function LrDialogs.confirm() return "ok" end

local LrView = {}
function LrView.osFactory()
  return setmetatable({}, { __index = function(_, kind)
    return function(_, args) args = args or {} args._kind = kind return args end
  end })
end
function LrView.bind(key) return { bind = key } end
function LrView.share(key) return { share = key } end

local LrPrefs = { prefsForPlugin = function() return SDK.prefs end }
local LrApplication = { activeCatalog = function() return SDK.the_catalog end }
local LrProgressScope = setmetatable({}, { __call = function(_, args)
  return { setPortionComplete = function() end, setCaption = function() end, isCanceled = function() return false end,
           done = function() end, cancel = function() end, title = args.title }
end })
local LrLogger = setmetatable({}, { __call = function()
  local l = {}
  for _, m in ipairs({ "enable", "disable", "trace", "info", "warn", "error", "debug", "tracef", "infof" }) do
    l[m] = function() end
  end
  return l
end })
local LrPathUtils = { leafName = function(p) return p:match("[^/]+$") end }
local LrBinding = { makePropertyTable = function() return {} end }

local modules = { LrTasks = LrTasks, LrFunctionContext = LrFunctionContext, LrHttp = LrHttp, LrDialogs = LrDialogs,
                  LrView = LrView, LrPrefs = LrPrefs, LrApplication = LrApplication, LrProgressScope = LrProgressScope,
                  LrLogger = LrLogger, LrPathUtils = LrPathUtils, LrBinding = LrBinding }

function SDK.install(plugin_dir)
  _G.import = function(name)
    local m = modules[name]
    if not m then error("SDK: module " .. tostring(name) .. " is not modelled by the harness", 2) end
    return m
  end
  _G._PLUGIN = { id = "photo.keepers.lightroom", path = plugin_dir }
  _G.LOC = function(s) return (s:gsub("^%$%$%$/[^=]*=", "")) end
  package.path = plugin_dir .. "/?.lua;" .. package.path
  local provider = dofile(plugin_dir .. "/MetadataProvider.lua")
  SDK.fields = {}
  for _, f in ipairs(provider.metadataFieldsForPhotos) do SDK.fields[f.id] = f end
end

return SDK
