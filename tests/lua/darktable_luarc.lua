--[[ luarc for headless darktable runs (tests/test_darktable.py): imports every photo of KEEPERS_DT_DIR into a
throw-away library and prints, per image, what darktable shows: "LUA_IMG {json}".
KEEPERS_DT_MODE: "import" (only read what darktable made of the sidecars), "apply" (load plugins/darktable/keepers.lua
and apply the records in KEEPERS_DT_RECORDS, then group), "analyze" (load the script, let the post-import-image event
queue the imports and run its analysis), "export" (apply, then press the export module's export button on all
images), "auto" (import the folder with "analyze on import" on and wait for the analysis), "manage" (the calls
script_manager makes on a "hide" script: load, show, destroy when stopped, restart when started again; then load a
second script). ]]

local dt = require "darktable"
local JSON = dofile(os.getenv("KEEPERS_JSON_LUA"))
local dir, mode = os.getenv("KEEPERS_DT_DIR"), os.getenv("KEEPERS_DT_MODE")

local function out(kind, t) print(kind .. " " .. JSON.encode(t)) end

local function list_photos(folder)
  local names = {}
  local p = io.popen('ls "' .. folder .. '"')
  for f in p:lines() do
    local ext = (f:match("%.([^.]+)$") or ""):lower()
    if ext == "jpg" or ext == "jpeg" or ext == "dng" or ext == "nef" or ext == "cr2" then names[#names + 1] = f end
  end
  p:close()
  table.sort(names)
  return names
end

local function errors(fn)  -- a Lua error is printed, not left to stop the luarc before it prints anything
  local ok, err = pcall(fn)
  if not ok then out("LUA_FAILED", { error = tostring(err) }) end
  return ok
end

local script, api
if mode ~= "import" then
  package.path = os.getenv("KEEPERS_DT_SCRIPT_DIR") .. "/?.lua;" .. package.path
  for k, v in pairs(JSON.decode(os.getenv("KEEPERS_DT_PREFS") or "{}")) do
    local kind = type(v) == "boolean" and "bool" or (type(v) == "number" and "integer" or "string")
    local ns, name = k:match("^(.-)/(.+)$")  -- "executable_paths/keepers": lua-scripts' namespace
    dt.preferences.write(ns or "keepers", name or k, kind, v)
  end
  script = require "keepers"
  api = script.api
  out("LUA_SCRIPT", { name = script.metadata.name, has_destroy = type(script.destroy) == "function",
                      has_restart = type(script.restart) == "function", queued = #api.queue,
                      destroy_method = script.destroy_method })
end

local images = {}
if mode == "manage" then
  -- what script_manager does: a "hide" script is shown right after it loads; stop = destroy; start = restart
  local names, steps = list_photos(dir), {}
  local function import(i)
    images[#images + 1] = dt.database.import(dir .. "/" .. names[i])
    dt.control.sleep(300)  -- post-import-image is delivered asynchronously
  end
  local function step(name, fn)
    local ok = errors(fn)
    steps[#steps + 1] = { step = name, ok = ok, queued = #api.queue }
  end
  step("show", function() if script.destroy_method == "hide" and script.show then script.show() end end)
  step("import", function() import(1) end)
  step("stop", script.destroy)
  step("import while stopped", function() import(2) end)
  step("start", script.restart)
  step("import after start", function() import(3) end)
  step("stop again", script.destroy)
  step("start again", script.restart)
  step("show again", script.show)
  package.path = os.getenv("KEEPERS_DT_SECOND_DIR") .. "/?.lua;" .. package.path
  step("second script", function() require "second" end)
  out("LUA_MANAGE", { steps = steps })
elseif mode == "batches" then
  -- a 10,000-frame shoot in two folders, bursts of 7 frames a second apart, a minute between bursts: how the
  -- script splits it into runs of the keepers program (plain tables: the script reads path, filename, time only)
  local shoot, t0 = {}, os.time({ year = 2026, month = 6, day = 6, hour = 12 })
  for i = 0, 9999 do
    local burst = math.floor(i / 7)
    local t = t0 + burst * 60 + i % 7
    shoot[#shoot + 1] = { path = "/photos/wedding/" .. (i < 4998 and "ceremony" or "party"),
                          filename = string.format("IMG_%05d.CR2", 9999 - i),  -- names against time order
                          exif_datetime_taken = os.date("%Y:%m:%d %H:%M:%S", t), burst = burst }
  end
  local started = os.clock()
  local batches = api.batches(shoot, 200, 100000)
  local sizes, split, seen = {}, 0, {}
  for b, batch in ipairs(batches) do
    sizes[#sizes + 1] = #batch
    for _, e in ipairs(batch) do
      if seen[e.img.burst] and seen[e.img.burst] ~= b then split = split + 1 end
      seen[e.img.burst] = b
    end
  end
  out("LUA_BATCHES", { sizes = JSON.array(sizes), split_bursts = split, seconds = os.clock() - started })
  images = { dt.database.import(dir .. "/" .. list_photos(dir)[1]) }
elseif mode == "auto" then
  -- a folder imported as a film roll, as darktable's import dialog does: "analyze on import" runs on its own
  dt.database.import(dir)
  for _ = 1, 480 do
    dt.control.sleep(250)
    if api.last.total and api.last.total > 0 and not api.running then break end
  end
  for _, img in ipairs(dt.database) do images[#images + 1] = img end
else
  for _, f in ipairs(list_photos(dir)) do images[#images + 1] = dt.database.import(dir .. "/" .. f) end
end

local function apply()
  local f = io.open(os.getenv("KEEPERS_DT_RECORDS"), "rb")
  local records = JSON.decode(f:read("*a"))
  f:close()
  local by_path = {}
  for _, img in ipairs(images) do by_path[img.path .. "/" .. img.filename] = img end
  for _, rec in ipairs(records) do
    for _, file in ipairs(rec.files or { rec.path }) do
      if by_path[file] then api.apply(by_path[file], rec) end
    end
  end
  api.group(by_path, records)
  return records, by_path
end

if mode == "apply" then
  local records, by_path = apply()
  if os.getenv("KEEPERS_DT_TWICE") then  -- a second run with the same records must change nothing
    for _, rec in ipairs(records) do api.apply(by_path[rec.path], rec) end
  end
elseif mode == "export" then
  -- the export module's own export button on the selected images (storage, format and metadata from the
  -- configuration the test starts darktable with), then wait until the script has handled every exported file
  apply()
  dt.gui.selection(images)
  errors(function() dt.gui.action("lib/export/export", 0, "", "activate", 1.0) end)
  for _ = 1, 240 do
    if (api.exports or 0) >= #images then break end
    dt.control.sleep(250)
  end
  out("LUA_EXPORT", { handled = api.exports or 0 })
end
local function analysis(err)
  local last = api.last
  out("LUA_ANALYZE", { error = err or false, runs = last.runs, done = last.done, failed = last.failed,
                       total = last.total, progress = JSON.array(last.progress), errors = JSON.array(last.errors),
                       cancelled = last.cancelled or false })
end
if mode == "auto" then
  analysis()
elseif mode == "analyze" then
  out("LUA_QUEUE", { queued = #api.queue })
  local cancel_after = tonumber(os.getenv("KEEPERS_DT_CANCEL_AFTER") or "")
  if cancel_after then  -- what the progress job's cancel button does, once this many photos are done
    api.on_progress = function(done, total) if done >= cancel_after then api.cancel() end end
  end
  errors(function()
    local records, err = api.analyze_queue()
    for _, rec in ipairs(records or {}) do out("LUA_RECORD", rec) end
    analysis(err)
  end)
end

for _, img in ipairs(images) do
  local tags, labels = {}, {}
  for _, t in ipairs(dt.tags.get_tags(img)) do
    if not t.name:match("^darktable|format|") then tags[#tags + 1] = t.name end
  end
  table.sort(tags)
  for _, c in ipairs({ "red", "yellow", "green", "blue", "purple" }) do
    if img[c] then labels[#labels + 1] = c end
  end
  out("LUA_IMG", { file = img.filename, rating = img.rating, labels = JSON.array(labels), tags = JSON.array(tags),
                   leader = img.group_leader.filename, path = img.path })
end
io.stdout:flush()
os.exit(0)
