--[[ Runs one Keepers plug-in script under the SDK stand-in and writes what it did as JSON.
usage: lua5.1 run.lua PLUGIN_DIR SCENARIO.json OUT.json
SCENARIO: { "script": "AnalyzeSelected.lua", "prefs": {...}, "photos": [ { "path", "rating", "pickStatus", "label",
"keywords": ["a|b"], "selected": true, "isVirtualCopy": false, "properties": {} } ] } ]]

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
local catalog = SDK.catalog(scenario.photos or {})

for _, script in ipairs(scenario.scripts or { scenario.script }) do
  local ok, err = pcall(dofile, plugin_dir .. "/" .. script)  -- as Lightroom runs a menu item's file
  if not ok then table.insert(SDK.errors, tostring(err)) end
end

if scenario.settings_dialog then  -- build the settings dialog as the menu item would
  local ok, err = pcall(dofile, plugin_dir .. "/Settings.lua")
  if not ok then table.insert(SDK.errors, tostring(err)) end
end

local snapshot = SDK.snapshot(catalog)
for _, d in ipairs(snapshot.dialogs) do d.contents = d.contents and true or nil end
local A = JSON.array  -- lists stay lists when empty
for _, p in ipairs(snapshot.photos) do A(p.keywords) end
for _, c in ipairs(snapshot.collections) do A(c.photos) end
for _, k in ipairs({ "photos", "collections", "gates", "dialogs", "errors", "http" }) do A(snapshot[k]) end
local o = assert(io.open(out_file, "wb"))
o:write(JSON.encode(snapshot))
o:close()
