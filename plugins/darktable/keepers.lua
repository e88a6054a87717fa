--[[
  keepers.lua - cull, rate and tag photos in darktable with Keepers, a local AI assistant for photographers

  Copyright (C) Keepers contributors. Licensed under the Apache License, Version 2.0.

  WHAT IT DOES
    Asks Keepers for a verdict on photos and writes it into darktable's library, so darktable writes its own XMP
    sidecars (no race between two writers):
      * rating: Keepers' stars, -1 (rejected) for a reject;
      * colour labels by role: reject red, burst pick green (set "colour labels" in preferences);
      * tags under "Keepers|" (Keepers|animal|bird, Keepers|group|burst ...);
      * a burst (or bracket, panorama) becomes a darktable group with the best frame as its leader.
    A rating, label or tag the photographer set is kept: Keepers changes a rating only where it is darktable's
    import rating (1 star by default, "ui_last/import_initial_rating") or 0, or the one Keepers set itself; it
    records what it set in darktable's own hidden tags darktable|keepers|... (never exported).

  USAGE
    * copy this file to ~/.config/darktable/lua/contrib/ and start it in script_manager,
      or add  require "contrib/keepers"  to ~/.config/darktable/luarc
    * lighttable, right panel, "keepers": "analyze selected" and "analyze imported" (photos imported since the
      last run: every import is queued)
    * preferences > lua options: the keepers command (default "keepers"), or a daemon URL and API key
      (`keepers serve`, `keepers apps create darktable --root FOLDER`), and "analyze on import"

  ADDITIONAL SOFTWARE NEEDED
    * Keepers (`keepers` on the PATH), and curl when a daemon URL is set
]]

local dt = require "darktable"

local MODULE = "keepers"
local ok_du, du = pcall(require, "lib/dtutils")  -- present when darktable's lua-scripts are installed
if ok_du then
  du.check_min_api_version("7.0.0", MODULE)
elseif dt.configuration.api_version_major < 7 then
  error("keepers.lua needs darktable 3.6 or newer (Lua API 7)")
end

local function _(msg) return msg end  -- one place to hook gettext in

local script_data = {}
script_data.metadata = {
  name = "keepers",
  purpose = _("rate, reject, label, tag and group photos with the local Keepers assistant"),
  author = "Keepers contributors",
  help = "https://github.com/keepers-photo/keepers/blob/main/docs/interop.md",
}
script_data.destroy = nil
script_data.destroy_method = nil
script_data.restart = nil
script_data.show = nil

local K = { queue = {}, ROOT = "Keepers", MARK = "darktable|keepers|" }
local COLOURS = { "red", "yellow", "green", "blue", "purple" }

-- preferences -----------------------------------------------------------------------------------------------------

dt.preferences.register(MODULE, "command", "string", _("keepers: command"),
  _("the keepers program, used when no daemon URL is set"), "keepers")
dt.preferences.register(MODULE, "daemon_url", "string", _("keepers: daemon URL"),
  _("e.g. http://127.0.0.1:8765 (empty: run the keepers command)"), "")
dt.preferences.register(MODULE, "api_key", "string", _("keepers: API key"),
  _("from `keepers apps create darktable --root FOLDER`"), "")
dt.preferences.register(MODULE, "labels", "string", _("keepers: colour labels"),
  _("role=colour pairs; roles reject, pick, alternate, keeper, other"), "reject=red,pick=green")
dt.preferences.register(MODULE, "import_rating", "integer", _("keepers: darktable's import rating"),
  _("a photo still at this rating counts as unrated (darktable's ui_last/import_initial_rating); -2 = off"), 1, -2, 5)
dt.preferences.register(MODULE, "overwrite_ratings", "bool", _("keepers: replace my ratings"),
  _("also replace ratings you set yourself"), false)
dt.preferences.register(MODULE, "auto_analyze", "bool", _("keepers: analyze on import"),
  _("analyze photos when an import finishes"), false)

local function pref(name, kind) return dt.preferences.read(MODULE, name, kind) end

-- JSON (darktable has no JSON library): decode the daemon's and the CLI's answers --------------------------------

local json = {}
do
  local esc = { b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }
  local function utf8(c)
    if c < 0x80 then return string.char(c) end
    if c < 0x800 then return string.char(0xC0 + math.floor(c / 64), 0x80 + c % 64) end
    return string.char(0xE0 + math.floor(c / 4096), 0x80 + math.floor(c / 64) % 64, 0x80 + c % 64)
  end
  local value
  local function ws(s, i) return s:find("[^ \t\r\n]", i) or #s + 1 end
  local function str(s, i)
    local out, j = {}, i + 1
    while true do
      local k = s:find('["\\]', j)
      if not k then error("json: unterminated string") end
      out[#out + 1] = s:sub(j, k - 1)
      if s:sub(k, k) == '"' then return table.concat(out), k + 1 end
      local c = s:sub(k + 1, k + 1)
      if c == "u" then
        local cp = tonumber(s:sub(k + 2, k + 5), 16)
        j = k + 6
        if cp >= 0xD800 and cp <= 0xDBFF and s:sub(j, j + 1) == "\\u" then
          cp = 0x10000 + (cp - 0xD800) * 0x400 + (tonumber(s:sub(j + 2, j + 5), 16) - 0xDC00)
          j = j + 6
          out[#out + 1] = string.char(0xF0 + math.floor(cp / 262144), 0x80 + math.floor(cp / 4096) % 64,
                                      0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
        else
          out[#out + 1] = utf8(cp)
        end
      else
        out[#out + 1] = esc[c] or c
        j = k + 2
      end
    end
  end
  value = function(s, i)
    i = ws(s, i)
    local c = s:sub(i, i)
    if c == '"' then return str(s, i) end
    if c == "{" or c == "[" then
      local t, close, n = {}, c == "{" and "}" or "]", 0
      i = ws(s, i + 1)
      if s:sub(i, i) == close then return t, i + 1 end
      while true do
        local k, v
        if close == "}" then
          k, i = str(s, ws(s, i))
          i = ws(s, i) + 1  -- the ':'
        else
          n = n + 1
          k = n
        end
        v, i = value(s, i)
        t[k] = v
        i = ws(s, i)
        local d = s:sub(i, i)
        i = i + 1
        if d == close then return t, i end
        if d ~= "," then error("json: expected ',' at " .. i) end
      end
    end
    if s:sub(i, i + 3) == "true" then return true, i + 4 end
    if s:sub(i, i + 4) == "false" then return false, i + 5 end
    if s:sub(i, i + 3) == "null" then return nil, i + 4 end
    local num = s:match("^-?[%d.eE+-]+", i)
    if not num or not tonumber(num) then error("json: unexpected '" .. c .. "' at " .. i) end
    return tonumber(num), i + #num
  end
  function json.decode(s) return (value(s, 1)) end
  function json.quote(s)
    return '"' .. s:gsub('[%c"\\]', function(ch)
      return ({ ['"'] = '\\"', ["\\"] = "\\\\", ["\n"] = "\\n" })[ch] or string.format("\\u%04x", ch:byte())
    end) .. '"'
  end
end

-- talking to Keepers ----------------------------------------------------------------------------------------------

local function sh(s)
  if dt.configuration.running_os == "windows" then return '"' .. s:gsub('"', '\\"') .. '"' end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function run(cmd)
  local p = io.popen(cmd)
  local out = p:read("*a")
  local ok, _, code = p:close()
  return out, (ok == true or ok == 0 or code == 0)
end

local function image_path(image) return image.path .. "/" .. image.filename end

-- `keepers cull --json --dry-run --host darktable FILES`: darktable writes the sidecars itself
local function cull_cli(paths)
  local cmd = { sh(pref("command", "string") ~= "" and pref("command", "string") or "keepers"), "cull", "--json",
                "--dry-run", "--host", "darktable" }
  for _, p in ipairs(paths) do cmd[#cmd + 1] = sh(p) end
  local null = dt.configuration.running_os == "windows" and "NUL" or "/dev/null"
  local out = run(table.concat(cmd, " ") .. " 2>" .. null)
  local records = {}
  for line in out:gmatch("[^\n]+") do
    local ok, rec = pcall(json.decode, line)
    if ok and type(rec) == "table" and rec.path then records[#records + 1] = rec end
  end
  return records
end

local function curl(method, url, body)
  local cmd = "curl -s --max-time 600 -X " .. method .. " -H " .. sh("Authorization: Bearer " .. pref("api_key", "string"))
  if body then cmd = cmd .. " -H 'Content-Type: application/json' --data-binary " .. sh(body) end
  local out = run(cmd .. " " .. sh(url))
  local ok, data = pcall(json.decode, out)
  if not ok or type(data) ~= "table" then return nil, "no answer from the Keepers daemon at " .. url end
  if data.error then return nil, tostring(data.error.message or data.error) end
  return data
end

-- a /v1/jobs batch (bursts are found across one job's photos), results when done
local function cull_daemon(paths)
  local base = pref("daemon_url", "string"):gsub("/+$", "")
  local quoted = {}
  for i, p in ipairs(paths) do quoted[i] = json.quote(p) end
  local job, err = curl("POST", base .. "/v1/jobs", '{"paths": [' .. table.concat(quoted, ",") .. '], "write": false}')
  while job and (job.state == "queued" or job.state == "running") do
    dt.control.sleep(500)
    job, err = curl("GET", base .. "/v1/jobs/" .. job.id)
  end
  if not job then return nil, err end
  if job.state ~= "done" then return nil, "Keepers job " .. tostring(job.state) end
  local res
  res, err = curl("GET", base .. "/v1/jobs/" .. job.id .. "/results")
  return res and res.results, err
end

-- applying a verdict ----------------------------------------------------------------------------------------------

local function labels()
  local map = {}
  for role, colour in pref("labels", "string"):gmatch("(%a+)%s*=%s*(%a*)") do map[role] = colour end
  return map
end

function K.role(rec)
  if rec.stars == -1 then return "reject" end
  for _, k in ipairs(rec.keywords or {}) do if k == "group|alternate" then return "alternate" end end
  if rec.pick and rec.group then return "pick" end
  return rec.verdict == "good" and "keeper" or "other"
end

local function marks(image)  -- Keepers' own hidden tags on an image: { rating = "3", label = { red = tag } }
  local m = { label = {}, tags = {} }
  for _, t in ipairs(dt.tags.get_tags(image)) do
    local rest = t.name:sub(1, #K.MARK) == K.MARK and t.name:sub(#K.MARK + 1)
    if rest then
      local kind, v = rest:match("^(%a+)|(.+)$")
      if kind == "rating" then m.rating, m.rating_tag = v, t end
      if kind == "label" then m.label[v] = t end
    elseif t.name:sub(1, #K.ROOT + 1) == K.ROOT .. "|" then
      m.tags[t.name] = t
    end
  end
  return m
end

local function mark(image, name)
  dt.tags.attach(dt.tags.create(K.MARK .. name), image)
end

function K.apply(image, rec)
  local m, role = marks(image), K.role(rec)
  -- rating: darktable's import rating or 0 counts as unset; a rating Keepers set is Keepers' to change
  local stars, cur, import = math.floor(rec.stars or 0), image.rating, pref("import_rating", "integer")
  if m.rating and m.rating ~= "theirs" and m.rating ~= tostring(cur) then  -- the photographer changed it: theirs
    dt.tags.detach(m.rating_tag, image)
    mark(image, "rating|theirs")
    m.rating, m.rating_tag = "theirs", dt.tags.find(K.MARK .. "rating|theirs")
  end
  local unset = m.rating == nil and (cur == 0 or cur == import)
  if pref("overwrite_ratings", "bool") or unset or tostring(cur) == m.rating then
    image.rating = stars
    if m.rating_tag then dt.tags.detach(m.rating_tag, image) end
    mark(image, "rating|" .. stars)
  end
  -- colour labels: Keepers adds its colour and removes only a colour it added
  local want = labels()[role]
  for _, colour in ipairs(COLOURS) do
    if m.label[colour] and colour ~= want then
      image[colour] = false
      dt.tags.detach(m.label[colour], image)
    elseif colour == want and not image[colour] then
      image[colour] = true
      mark(image, "label|" .. colour)
    end
  end
  -- tags under Keepers|: attach what is predicted, detach what Keepers attached before and no longer predicts
  local wanted = {}
  for _, k in ipairs(rec.keywords or {}) do
    local name = K.ROOT .. "|" .. k:gsub("^" .. K.ROOT .. "|", "")
    wanted[name] = true
    if not m.tags[name] then dt.tags.attach(dt.tags.create(name), image) end
  end
  for name, t in pairs(m.tags) do
    if not wanted[name] then dt.tags.detach(t, image) end
  end
end

-- the frames of one group (burst, bracket...) become a darktable group led by the pick
function K.group(images_by_path, records)
  local groups = {}
  for _, rec in ipairs(records) do
    if rec.group then
      local g = groups[rec.group] or { members = {} }
      groups[rec.group] = g
      for _, f in ipairs(rec.files or { rec.path }) do
        local img = images_by_path[f]
        if img then
          table.insert(g.members, img)
          if rec.pick and not g.leader then g.leader = img end
        end
      end
    end
  end
  for _, g in pairs(groups) do
    local leader = g.leader or g.members[1]
    if #g.members > 1 then
      for _, img in ipairs(g.members) do
        if img ~= leader then img:group_with(leader) end
      end
      leader:make_group_leader()
    end
  end
end

-- ask Keepers about `images` and apply the answers; returns the records
function K.analyze(images)
  local by_path, paths = {}, {}
  for _, img in ipairs(images) do
    local p = image_path(img)
    if not by_path[p] then paths[#paths + 1] = p end
    by_path[p] = img
  end
  if #paths == 0 then return {} end
  local job = dt.configuration.has_gui and dt.gui.create_job(_("keepers: analysing ") .. #paths, true) or nil
  local records, err
  if pref("daemon_url", "string") ~= "" then
    records, err = cull_daemon(paths)
  else
    records = cull_cli(paths)
  end
  if job then job.valid = false end
  if not records then
    dt.print(_("keepers: ") .. tostring(err))
    return nil, err
  end
  local done, failed = 0, 0
  for _, rec in ipairs(records) do
    if rec.error or not rec.verdict then
      failed = failed + 1
      dt.print_log("keepers: " .. tostring(rec.path) .. ": " .. tostring(rec.error))
    else
      for _, f in ipairs(rec.files or { rec.path }) do
        if by_path[f] then
          K.apply(by_path[f], rec)
          done = done + 1
        end
      end
    end
  end
  K.group(by_path, records)
  dt.print(string.format(_("keepers: %d photo(s) rated and tagged, %d failed"), done, failed))
  return records
end

function K.analyze_queue()
  local images = K.queue
  K.queue = {}
  return K.analyze(images)
end

-- darktable wiring ------------------------------------------------------------------------------------------------

local function on_import(event, image)
  table.insert(K.queue, image)
end

local function on_film(event, film)
  if pref("auto_analyze", "bool") then K.analyze_queue() end
end

local widgets = {
  dt.new_widget("button") {
    label = _("analyze selected"),
    tooltip = _("rate, label, tag and group the selected photos"),
    clicked_callback = function() K.analyze(dt.gui.action_images) end,
  },
  dt.new_widget("button") {
    label = _("analyze imported"),
    tooltip = _("the photos imported since the last analysis"),
    clicked_callback = function() K.analyze_queue() end,
  },
}

local installed = false
local function install()
  if installed then return end
  dt.register_lib(MODULE, "keepers", true, false,
    { [dt.gui.views.lighttable] = { "DT_UI_CONTAINER_PANEL_RIGHT_CENTER", 100 } },
    dt.new_widget("box") { orientation = "vertical", (table.unpack or unpack)(widgets) }, nil, nil)
  installed = true
end

local function register_events()
  dt.register_event(MODULE .. "_import", "post-import-image", on_import)
  dt.register_event(MODULE .. "_film", "post-import-film", on_film)
end

local function destroy()
  dt.gui.libs[MODULE].visible = false
  dt.destroy_event(MODULE .. "_import", "post-import-image")
  dt.destroy_event(MODULE .. "_film", "post-import-film")
end

local function restart()
  register_events()
  dt.gui.libs[MODULE].visible = true
end

if dt.configuration.has_gui then
  if dt.gui.current_view().id == "lighttable" then
    install()
  else
    dt.register_event(MODULE .. "_view", "view-changed", function(event, old_view, new_view)
      if new_view.name == "lighttable" then install() end
    end)
  end
end
register_events()

script_data.destroy = destroy
script_data.destroy_method = "hide"
script_data.restart = restart
script_data.show = restart
script_data.api = K  -- for scripts and tests: analyze(images), apply(image, record), group(...)

return script_data
