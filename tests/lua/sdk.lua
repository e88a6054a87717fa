--[[ A stand-in for the Lightroom Classic SDK, enough to run the Keepers plug-in under plain Lua 5.1 and record
what it does to the catalog. It enforces the SDK's documented rules, so a plug-in that breaks them fails here:
  - async tasks are coroutines run by a scheduler, as Lightroom's are: LrTasks.sleep yields to the other tasks (a
    background loop and a menu command share the time), and a plain pcall cannot be yielded across (LrTasks.pcall
    and LrFunctionContext can); time is virtual: it jumps to the next task's wake-up, with a short real sleep so
    the daemon gets on with its work;
  - LrHttp and catalog writes only inside an async task;
  - setRawMetadata / addKeyword / setPropertyForPlugin / collection changes / keyword attributes only inside
    withWriteAccessDo, which cannot nest and cannot yield;
  - a keyword or collection set created in a write gate is usable (added to a photo, given attributes, used as the
    parent of another keyword or of a collection) only after that gate returns (LrCatalog reference on
    createKeyword: "not available ... until that function returns"); within the gate, asking again for a keyword
    made in it returns false even with returnExisting (as public plug-ins report of Lightroom);
  - only the documented values for rating (nil, 0..5), pickStatus (-1, 0, 1), colorNameForLabel;
  - plug-in properties only for fields declared in the plug-in's MetadataProvider.lua, as strings/numbers/nil;
  - paths are Lightroom's own strings: findPhotoByPath matches the exact text the catalog holds (a path through a
    symlink is not its target), as a catalog does not resolve links;
  - LrProgressScope: the user's cancel (the X on the progress bar) is `cancel_at` (a portion of the bar) or
    `cancel_at_time`; isCanceled() says it from then on;
  - LrPasswords: an encrypted store apart from the preferences (SDK.passwords; the snapshot shows both);
  - keywords carry includeOnExport; SDK.exported(photo) is what an export writes: the names of the photo's keywords
    that are included on export, and of their parents that are (Lightroom's "Export Containing Keywords").
And one limit that is the plug-in's own, checked here: a write gate changes at most GATE_PHOTOS photos, so
Lightroom is never held for a whole 10,000-photo shoot and a cancel is seen between gates.
LrHttp forwards to a real server with curl; each request's body is kept (SDK.log) for checks on batch sizes. ]]

local SDK = { log = {}, dialogs = {}, gates = {}, errors = {}, prefs = {}, passwords = {}, active_sources = nil,
              scopes = {}, events = {}, clock = 0, max_time = 3600, GATE_PHOTOS = 1000 }
local state = { gate = nil, gate_id = 0, gate_photos = {} }

local function fail(msg) error("SDK: " .. msg, 3) end

-- LrTasks: coroutines and a scheduler -----------------------------------------------------------------------------
local tasks, current = {}, nil  -- current: the task being resumed

local function in_task() return current ~= nil end
local function need_task(what) if not in_task() then fail(what .. " must run inside an async task") end end
local function need_gate(what)
  if not state.gate then fail(what .. " must be called inside catalog:withWriteAccessDo") end
end
local function usable(obj, what)  -- created in the still-open gate: not usable yet
  if obj and obj._gate and state.gate and obj._gate == state.gate_id then
    fail(what .. " " .. tostring(obj._name) .. " was created in this write gate; it is usable after the gate returns")
  end
end

-- a pcall that lets its function yield (LrTasks.pcall; LrFunctionContext), as Lua 5.1's own pcall does not
local function copcall(f, ...)
  local co = coroutine.create(f)
  local res = { coroutine.resume(co, ...) }
  while true do
    if not res[1] then return false, res[2], co end
    if coroutine.status(co) == "dead" then return true, unpack(res, 2) end
    res = { coroutine.resume(co, coroutine.yield(unpack(res, 2))) }  -- pass a sleep up to the scheduler
  end
end

local LrTasks = {}
function LrTasks.startAsyncTask(fn, name)
  local task = { name = name or "task", wake = SDK.clock }
  task.co = coroutine.create(function()
    local ok, err, co = copcall(fn)
    if not ok then table.insert(SDK.errors, debug.traceback(co, tostring(err))) end
  end)
  table.insert(tasks, task)
end
function LrTasks.sleep(s)
  need_task("LrTasks.sleep")
  coroutine.yield("sleep", tonumber(s) or 0)
end
function LrTasks.yield() if in_task() then coroutine.yield("sleep", 0) end end
function LrTasks.canYield() return in_task() and not state.gate end
LrTasks.pcall = copcall

local function fire_events()
  for _, e in ipairs(SDK.events) do
    if not e.fired and SDK.clock >= e.at then
      e.fired = true
      e.run()
    end
  end
end

-- run every task until all have ended (or the virtual clock passes max_time: a loop that never stops)
function SDK.run_tasks()
  while true do
    fire_events()
    local ran, earliest = false, nil
    for _, t in ipairs({ unpack(tasks) }) do
      if t.wake <= SDK.clock and coroutine.status(t.co) ~= "dead" then
        current = t
        local ok, what, s = coroutine.resume(t.co)
        current = nil
        ran = true
        if not ok then table.insert(SDK.errors, tostring(what)) end
        if coroutine.status(t.co) ~= "dead" then
          if what ~= "sleep" then table.insert(SDK.errors, "SDK: a task yielded outside LrTasks.sleep") end
          t.wake = SDK.clock + (s or 0)
        end
      end
    end
    for i = #tasks, 1, -1 do if coroutine.status(tasks[i].co) == "dead" then table.remove(tasks, i) end end
    local pending = false
    for _, e in ipairs(SDK.events) do if not e.fired then pending = true end end
    if #tasks == 0 and not pending then return end
    if not ran then
      for _, t in ipairs(tasks) do earliest = math.min(earliest or t.wake, t.wake) end
      for _, e in ipairs(SDK.events) do if not e.fired then earliest = math.min(earliest or e.at, e.at) end end
      local step = math.max(0, earliest - SDK.clock)
      if step > 0 then os.execute("sleep " .. math.min(step, 0.2)) end  -- real time for the daemon to work
      SDK.clock = earliest
      if SDK.clock > SDK.max_time then
        table.insert(SDK.errors, "SDK: tasks still running after " .. SDK.max_time .. " s of virtual time")
        return
      end
    end
  end
end

-- LrFunctionContext --------------------------------------------------------------------------------------------
local LrFunctionContext = {}
function LrFunctionContext.callWithContext(name, fn, ...)
  local ctx = { cleanup = {}, failure = {} }
  function ctx:addCleanupHandler(h) table.insert(self.cleanup, h) end
  function ctx:addFailureHandler(h) table.insert(self.failure, h) end
  local args = { ... }
  local ok, err = copcall(function() return fn(ctx, unpack(args)) end)
  if not ok then for _, h in ipairs(ctx.failure) do h(false, err) end end
  for _, h in ipairs(ctx.cleanup) do h(ok, err) end
  if not ok and #ctx.failure == 0 then error(err, 0) end
end
function LrFunctionContext.postAsyncTaskWithContext(name, fn)
  LrTasks.startAsyncTask(function() LrFunctionContext.callWithContext(name, fn) end, name)
end

-- LrHttp: real HTTP through curl -------------------------------------------------------------------------------
local function sh(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function curl(method, url, body, headers, timeout)
  need_task("LrHttp." .. method:lower())
  if state.gate then fail("LrHttp inside a write gate holds the catalog while the network answers") end
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
  table.insert(SDK.log, { method = method, url = url, status = code, body = body, at = SDK.clock })
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
function Keyword:getChildren() local o = {} for i, k in ipairs(self._children) do o[i] = k end return o end
function Keyword:getAttributes()
  return { keywordName = self._name, synonyms = {}, includeOnExport = self._export, includeParents = true,
           includeSynonyms = true }
end
function Keyword:setAttributes(a)
  need_gate("keyword:setAttributes")
  usable(self, "keyword")
  if a.includeOnExport ~= nil then self._export = a.includeOnExport and true or false end
  if a.keywordName ~= nil then self._name = a.keywordName end
  return true
end
function Keyword:type() return "LrKeyword" end
local function keyword_path(kw)
  local names = {}
  while kw do table.insert(names, 1, kw._name) kw = kw._parent end
  return table.concat(names, "|")
end

local LABELS = { none = true, red = true, yellow = true, green = true, blue = true, purple = true }
local Photo = {}
Photo.__index = Photo
local function raw(p, key)
  if key == "keywords" then
    local out = {}
    for _, kw in ipairs(p._keywords) do out[#out + 1] = kw end
    return out
  end
  if key == "colorNameForLabel" then return p.label or "none" end
  if key == "rating" then return (p.rating and p.rating > 0) and p.rating or nil end
  if key == "pickStatus" then return p.pickStatus or 0 end
  if key == "path" or key == "isVirtualCopy" then return p[key] end
  fail("getRawMetadata key not modelled: " .. tostring(key))
end
function Photo:getRawMetadata(key) return raw(self, key) end
function Photo:getFormattedMetadata(key)
  if key == "fileName" then return self.path:match("[^/\\]+$") end
  fail("getFormattedMetadata key not modelled: " .. tostring(key))
end
local function touch(p)  -- a photo changed in this gate
  if not state.gate_photos[p] then
    state.gate_photos[p] = true
    state.gate_count = state.gate_count + 1
    if state.gate_count > SDK.GATE_PHOTOS then
      fail("a write gate changed more than " .. SDK.GATE_PHOTOS .. " photos (the plug-in's own limit)")
    end
  end
end
function Photo:setRawMetadata(key, value)
  need_gate("photo:setRawMetadata")
  touch(self)
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
  touch(self)
  for _, k in ipairs(self._keywords) do if k == kw then return end end
  table.insert(self._keywords, kw)
end
function Photo:removeKeyword(kw)
  need_gate("photo:removeKeyword")
  touch(self)
  for i, k in ipairs(self._keywords) do if k == kw then table.remove(self._keywords, i) return end end
end
local function declared(id)
  if not SDK.fields[id] then fail("plug-in property " .. tostring(id) .. " is not declared in MetadataProvider.lua") end
end
function Photo:getPropertyForPlugin(plugin, id)
  declared(id)
  return self._props[id]
end
function Photo:setPropertyForPlugin(plugin, id, value)
  need_gate("photo:setPropertyForPlugin")
  if plugin ~= _PLUGIN then fail("setPropertyForPlugin needs _PLUGIN") end
  declared(id)
  if value ~= nil and type(value) ~= "string" and type(value) ~= "number" then fail("property values: string/number") end
  touch(self)
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
    if not self._in[p] then
      self._in[p] = true
      table.insert(self._photos, p)
    end
  end
end
function Collection:removePhotos(photos)
  need_gate("collection:removePhotos")
  local gone = {}
  for _, p in ipairs(photos) do if self._in[p] then gone[p], self._in[p] = true, nil end end
  if next(gone) then
    local keep = {}
    for _, p in ipairs(self._photos) do if not gone[p] then keep[#keep + 1] = p end end
    self._photos = keep
  end
end

local Catalog = {}
Catalog.__index = Catalog
function Catalog:withWriteAccessDo(name, fn, opts)
  need_task("catalog:withWriteAccessDo")
  if state.gate then fail("withWriteAccessDo cannot nest (inside " .. state.gate .. ")") end
  state.gate, state.gate_id, state.gate_photos, state.gate_count = name, state.gate_id + 1, {}, 0
  state.made = {}
  table.insert(SDK.gates, name)
  local ok, err = pcall(fn, {})  -- a plain pcall: a write gate cannot yield (no sleep, no HTTP inside)
  state.gate = nil
  if not ok then error(err, 0) end
end
function Catalog:getTargetPhotos()
  local out = {}
  for _, p in ipairs(self._photos) do if p.selected then out[#out + 1] = p end end
  return out
end
function Catalog:getTargetPhoto() return self:getTargetPhotos()[1] end
function Catalog:getAllPhotos() local o = {} for i, p in ipairs(self._photos) do o[i] = p end return o end
function Catalog:getPath() return self._path end
function Catalog:findPhotoByPath(path)
  return self._by_path[path]  -- the exact text the catalog holds: no link resolved, no case folded
end
function Catalog:batchGetRawMetadata(photos, keys)
  local out = {}
  for _, p in ipairs(photos) do
    local t = {}
    for _, k in ipairs(keys) do t[k] = raw(p, k) end
    out[p] = t
  end
  return out
end
function Catalog:batchGetPropertyForPlugin(photos, plugin, ids)
  local out = {}
  for _, id in ipairs(ids) do declared(id) end
  for _, p in ipairs(photos) do
    local t = {}
    for _, id in ipairs(ids) do t[id] = p._props[id] end
    out[p] = t
  end
  return out
end
function Catalog:getKeywords() local o = {} for i, k in ipairs(self._keywords) do o[i] = k end return o end
function Catalog:createKeyword(name, synonyms, includeOnExport, parent, returnExisting)
  need_gate("catalog:createKeyword")
  if type(name) ~= "string" or name == "" or name:find("|", 1, true) then fail("bad keyword name " .. tostring(name)) end
  if parent ~= nil and getmetatable(parent) ~= Keyword then fail("a keyword's parent must be an LrKeyword") end
  usable(parent, "keyword")  -- a parent made in this same gate: not available until the gate returns
  local siblings = parent and parent._children or self._keywords
  for _, kw in ipairs(siblings) do
    if kw._name == name then
      if kw._gate == state.gate_id then return false end  -- made in this gate: not returned, even when asked
      return returnExisting and kw or false
    end
  end
  local kw = setmetatable({ _name = name, _parent = parent, _children = {}, _gate = state.gate_id,
                            _export = includeOnExport and true or false }, Keyword)
  table.insert(siblings, kw)
  return kw
end
function Catalog:keyword(path, includeOnExport)  -- harness helper: an existing keyword (created outside any gate)
  local parent, kw = nil, nil
  for name in path:gmatch("[^|]+") do
    local siblings = parent and parent._children or self._keywords
    kw = nil
    for _, k in ipairs(siblings) do if k._name == name then kw = k end end
    if not kw then
      kw = setmetatable({ _name = name, _parent = parent, _children = {}, _export = includeOnExport ~= false },
                        Keyword)
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
  local c = setmetatable({ _name = name, _parent = parent, _photos = {}, _in = {}, _gate = state.gate_id }, meta)
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

function Catalog:add(spec)  -- harness helper: a photo in the catalog (an import)
  self._next_id = self._next_id + 1
  local p = setmetatable({ path = spec.path, rating = spec.rating, pickStatus = spec.pickStatus, label = spec.label,
                           selected = spec.selected ~= false, isVirtualCopy = spec.isVirtualCopy or false,
                           localIdentifier = self._next_id, _keywords = {}, _props = {} }, Photo)
  for _, k in ipairs(spec.keywords or {}) do table.insert(p._keywords, self:keyword(k)) end
  for k, v in pairs(spec.properties or {}) do p._props[k] = v end
  table.insert(self._photos, p)
  if not p.isVirtualCopy and not self._by_path[p.path] then self._by_path[p.path] = p end
  return p
end

function SDK.catalog(photos, path)
  local c = setmetatable({ _photos = {}, _keywords = {}, _sets = {}, _collections = {}, _by_path = {}, _next_id = 0,
                           _path = path or "/catalogs/Keepers test.lrcat" }, Catalog)
  for _, spec in ipairs(photos) do c:add(spec) end
  SDK.the_catalog = c
  return c
end

-- what an export of the photo would carry as keywords: included keywords and their included parents, by name
function SDK.exported(p)
  local names, seen = {}, {}
  for _, kw in ipairs(p._keywords) do
    local k = kw._export and kw or nil
    while k do
      if k._export and not seen[k._name] then
        seen[k._name] = true
        names[#names + 1] = k._name
      end
      k = k._parent
    end
  end
  table.sort(names)
  return names
end

-- what the plug-in left in the catalog, as plain tables
function SDK.snapshot(c)
  local photos, collections = {}, {}
  for _, p in ipairs(c._photos) do
    local kws = {}
    for _, kw in ipairs(p._keywords) do kws[#kws + 1] = keyword_path(kw) end
    table.sort(kws)
    photos[#photos + 1] = { path = p.path, rating = p.rating, pickStatus = p.pickStatus or 0, label = p.label or "none",
                            keywords = kws, exported = SDK.exported(p), properties = p._props,
                            isVirtualCopy = p.isVirtualCopy }
  end
  for _, col in ipairs(c._collections) do
    local paths = {}
    for _, p in ipairs(col._photos) do paths[#paths + 1] = p.path end
    table.sort(paths)
    collections[#collections + 1] = { name = col._name, set = col._parent and col._parent._name, photos = paths }
  end
  local keywords = {}
  local function walk(list)
    for _, kw in ipairs(list) do
      keywords[keyword_path(kw)] = kw._export
      walk(kw._children)
    end
  end
  walk(c._keywords)
  local active
  for _, s in ipairs(SDK.active_sources or {}) do active = s._name end
  local scopes = {}
  for _, s in ipairs(SDK.scopes) do
    scopes[#scopes + 1] = { title = s.title, portions = s.portions, canceled = s.canceled, done = s._done }
  end
  return { photos = photos, collections = collections, keywords = keywords, gates = SDK.gates, dialogs = SDK.dialogs,
           errors = SDK.errors, http = SDK.log, active_source = active, scopes = scopes, clock = SDK.clock }
end

-- progress scopes: the user's cancel -------------------------------------------------------------------------------
local Scope = {}
Scope.__index = Scope
function Scope:setPortionComplete(done, total)
  local portion = (tonumber(total) or 0) > 0 and done / total or 0
  if portion < 0 or portion > 1.0001 then
    fail("setPortionComplete(" .. tostring(done) .. ", " .. tostring(total) .. ") is not a portion of 0..1")
  end
  table.insert(self.portions, portion)
  if SDK.cancel_at and portion >= SDK.cancel_at and self._cancelable then self.canceled = true end
end
function Scope:isCanceled()
  if SDK.cancel_at_time and SDK.clock >= SDK.cancel_at_time and self._cancelable then self.canceled = true end
  return self.canceled or false
end
function Scope:setCancelable(b) self._cancelable = b and true or false end
function Scope:isCancelable() return self._cancelable end
function Scope:setCaption(c) self.caption = c end
function Scope:done() self._done = true end
function Scope:isDone() return self._done or false end
function Scope:cancel() self.canceled = true end
local LrProgressScope = setmetatable({}, { __call = function(_, args)
  local s = setmetatable({ title = args.title, portions = {}, canceled = false, _cancelable = true }, Scope)
  table.insert(SDK.scopes, s)
  return s
end })

-- dialogs, views, prefs, passwords and the rest ------------------------------------------------------------------
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
local LrPasswords = {}
function LrPasswords.store(key, value, salt, pluginId)
  if type(key) ~= "string" then fail("LrPasswords.store needs a key string") end
  SDK.passwords[key] = value
end
function LrPasswords.retrieve(key, salt, pluginId) return SDK.passwords[key] end
local LrApplication = { activeCatalog = function() return SDK.the_catalog end }
local LrLogger = setmetatable({}, { __call = function()
  local l = {}
  for _, m in ipairs({ "enable", "disable", "trace", "info", "warn", "error", "debug", "tracef", "infof", "warnf" }) do
    l[m] = function() end
  end
  return l
end })
local LrPathUtils = { leafName = function(p) return p:match("[^/\\]+$") end }
local LrBinding = { makePropertyTable = function() return {} end }

local modules = { LrTasks = LrTasks, LrFunctionContext = LrFunctionContext, LrHttp = LrHttp, LrDialogs = LrDialogs,
                  LrView = LrView, LrPrefs = LrPrefs, LrPasswords = LrPasswords, LrApplication = LrApplication,
                  LrProgressScope = LrProgressScope, LrLogger = LrLogger, LrPathUtils = LrPathUtils,
                  LrBinding = LrBinding }

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
