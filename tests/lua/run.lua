--[[ Runs Keepers plug-in scripts under the SDK stand-in and writes what they did as JSON.
usage: lua5.1 run.lua PLUGIN_DIR SCENARIO.json OUT.json
SCENARIO: { "script": "AnalyzeSelected.lua" (or "scripts": [...]), "prefs": {...}, "passwords": {...},
  "photos": [ { "path", "rating", "pickStatus", "label", "keywords": ["a|b"], "selected": true,
                "isVirtualCopy": false, "properties": {} } ],
  "init": true (load Info.lua's LrInitPlugin first, as Lightroom does at start),
  "events": [ { "at": seconds, "import": [photos] }, { "at": seconds, "script": "X.lua" },
              { "at": seconds, "shutdown": true } ],
  "cancel_at": portion of a progress bar at which the user clicks its X, "cancel_at_time": seconds,
  "max_time": virtual seconds after which running tasks are an error, "settings_dialog": true,
  "code": Lua run as an async task with the plug-in's modules loadable (its return value is the snapshot's
          `result`) } ]]

local plugin_dir, scenario_file, out_file = arg[1], arg[2], arg[3]
local here = arg[0]:match("^(.*)/[^/]+$") or "."
package.path = here .. "/?.lua;" .. package.path
local SDK = require "sdk"
SDK.install(plugin_dir)
local JSON = require "JSON"  -- the plug-in's own

local f = assert(io.open(scenario_file, "rb"))
local scenario = JSON.decode(f:read("*a"))
f:close()
for k, v in pairs(scenario.prefs or {}) do SDK.prefs[k] = v end
for k, v in pairs(scenario.passwords or {}) do SDK.passwords[k] = v end
SDK.cancel_at, SDK.cancel_at_time = scenario.cancel_at, scenario.cancel_at_time
SDK.max_time = scenario.max_time or SDK.max_time
local catalog = SDK.catalog(scenario.photos or {})
local info = dofile(plugin_dir .. "/Info.lua")

local function script(name)  -- as Lightroom runs a menu item's file
  local ok, err = pcall(dofile, plugin_dir .. "/" .. name)
  if not ok then table.insert(SDK.errors, tostring(err)) end
end

if scenario.init and info.LrInitPlugin then script(info.LrInitPlugin) end
for _, name in ipairs(scenario.scripts or { scenario.script }) do script(name) end
for _, e in ipairs(scenario.events or {}) do
  table.insert(SDK.events, { at = e.at, run = function()
    for _, spec in ipairs(e.import or {}) do catalog:add(spec) end
    if e.script then script(e.script) end
    if e.shutdown and info.LrShutdownPlugin then  -- Lightroom quits: the plug-in's shutdown function, then done
      local ok, provider = pcall(dofile, plugin_dir .. "/" .. info.LrShutdownPlugin)
      if not ok then table.insert(SDK.errors, tostring(provider)) return end
      provider.LrShutdownFunction(function() SDK.shut_down = true end, function() end)
    end
  end })
end
if scenario.settings_dialog then script("Settings.lua") end
local result
if scenario.code then
  local chunk = assert(loadstring("local catalog = ...\n" .. scenario.code, "scenario code"))
  import("LrTasks").startAsyncTask(function() result = chunk(catalog) end, "scenario code")
end
SDK.run_tasks()

local snapshot = SDK.snapshot(catalog)
snapshot.prefs, snapshot.passwords, snapshot.shut_down = SDK.prefs, SDK.passwords, SDK.shut_down or false
snapshot.result = result
for _, d in ipairs(snapshot.dialogs) do d.contents = d.contents and true or nil end
local A = JSON.array  -- lists stay lists when empty
for _, p in ipairs(snapshot.photos) do A(p.keywords) A(p.exported) end
for _, c in ipairs(snapshot.collections) do A(c.photos) end
for _, s in ipairs(snapshot.scopes) do A(s.portions) end
for _, k in ipairs({ "photos", "collections", "gates", "dialogs", "errors", "http", "scopes" }) do A(snapshot[k]) end
local o = assert(io.open(out_file, "wb"))
o:write(JSON.encode(snapshot))
o:close()
