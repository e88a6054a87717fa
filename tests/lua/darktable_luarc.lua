--[[ luarc for headless darktable runs (tests/test_darktable.py): imports every photo of KEEPERS_DT_DIR into a
throw-away library and prints, per image, what darktable shows: "LUA_IMG {json}".
KEEPERS_DT_MODE: "import" (only read what darktable made of the sidecars), "apply" (load plugins/darktable/keepers.lua
and apply the records in KEEPERS_DT_RECORDS, then group), "analyze" (load the script, let the post-import-image event
queue the imports and run its analysis with the real keepers command). ]]

local dt = require "darktable"
local JSON = dofile(os.getenv("KEEPERS_JSON_LUA"))
local dir, mode = os.getenv("KEEPERS_DT_DIR"), os.getenv("KEEPERS_DT_MODE")

local function out(kind, t) print(kind .. " " .. JSON.encode(t)) end

local api
if mode ~= "import" then
  package.path = os.getenv("KEEPERS_DT_SCRIPT_DIR") .. "/?.lua;" .. package.path
  for k, v in pairs(JSON.decode(os.getenv("KEEPERS_DT_PREFS") or "{}")) do
    local kind = type(v) == "boolean" and "bool" or (type(v) == "number" and "integer" or "string")
    dt.preferences.write("keepers", k, kind, v)
  end
  local script = require "keepers"
  api = script.api
  out("LUA_SCRIPT", { name = script.metadata.name, has_destroy = type(script.destroy) == "function",
                      has_restart = type(script.restart) == "function", queued = #api.queue })
end

local names = {}
local p = io.popen('ls "' .. dir .. '"')
for f in p:lines() do
  local ext = (f:match("%.([^.]+)$") or ""):lower()
  if ext == "jpg" or ext == "jpeg" or ext == "dng" or ext == "nef" or ext == "cr2" then names[#names + 1] = f end
end
p:close()
table.sort(names)

local images = {}
for _, f in ipairs(names) do images[#images + 1] = dt.database.import(dir .. "/" .. f) end

if mode == "apply" then
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
  if os.getenv("KEEPERS_DT_TWICE") then  -- a second run with the same records must change nothing
    for _, rec in ipairs(records) do api.apply(by_path[rec.path], rec) end
  end
elseif mode == "analyze" then
  out("LUA_QUEUE", { queued = #api.queue })
  local records = api.analyze_queue()
  for _, rec in ipairs(records or {}) do out("LUA_RECORD", rec) end
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
                   leader = img.group_leader.filename })
end
io.stdout:flush()
os.exit(0)
