--[[
  keepers.lua - cull, rate and tag photos in darktable with Keepers, a local AI assistant for photographers

  Copyright (C) Keepers contributors. Licensed under the Apache License, Version 2.0.

  WHAT IT DOES
    Asks Keepers for a verdict on photos and writes it into darktable's library, so darktable writes its own XMP
    sidecars (no race between two writers):
      * rating: Keepers' stars, -1 (rejected) for a reject;
      * colour labels by role: reject red, burst pick green (set "colour labels" in preferences);
      * tags under "Keepers|" (Keepers|animal|bird, Keepers|flaw|motion blur, Keepers|group|burst ...);
      * a burst (or bracket, panorama) becomes a darktable group with the best frame as its leader.
    A rating, label or tag the photographer set is kept: Keepers changes a rating only where it is darktable's
    import rating (1 star by default, "ui_last/import_initial_rating") or 0, or the one Keepers set itself; it
    records what it set in darktable's own hidden tags darktable|keepers|... (never exported).
    Keepers' tags are private: an export carries none of them (they are removed from the exported file's
    keywords with exiftool before the storage gets it); "export content tags" lets Keepers|animal|... and
    the like go out, never flaw|... or group|....

  USAGE
    * copy this file to ~/.config/darktable/lua/contrib/ and start it in script_manager,
      or add  require "contrib/keepers"  to ~/.config/darktable/luarc
    * lighttable, right panel, "keepers": "analyze selected" and "analyze imported" (photos imported since the
      last run: every import is queued); the job in the bottom left panel shows the progress and cancels it
    * preferences > lua options: "keepers: executable" (found on the PATH when left as "keepers"), or a daemon
      URL and API key (`keepers serve`, `keepers apps create darktable --root FOLDER`), "analyze on import"

  ADDITIONAL SOFTWARE NEEDED
    * Keepers (the `keepers` program) and exiftool; curl when a daemon URL is set
]]

local dt = require "darktable"

local MODULE = "keepers"
-- darktable's lua-scripts libraries, where installed: their version check and executable search
local ok_du, du = pcall(require, "lib/dtutils")
local ok_df, df = pcall(require, "lib/dtutils.file")
if not ok_df then df = nil end
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

local WINDOWS = dt.configuration.running_os == "windows"
local PS = WINDOWS and "\\" or "/"
local K = {
  queue = {}, ROOT = "Keepers", MARK = "darktable|keepers|",
  -- Keepers' keywords that are a judgement, never exported: flaw|..., group|... (content keywords by choice)
  JUDGEMENT = { flaw = true, group = true, verdict = true },
  GAP = 30,  -- seconds between two photos where a batch may end: a burst is never split across two runs
  last = {},  -- what the last analysis did (runs, progress, counts), for scripts and tests
}
local COLOURS = { "red", "yellow", "green", "blue", "purple" }

-- preferences -----------------------------------------------------------------------------------------------------

-- lua-scripts' convention: an executable's path is the preference executable_paths/<name>, which
-- df.check_if_bin_exists reads (and the executable_manager script edits)
dt.preferences.register("executable_paths", "keepers", "file", _("keepers: executable"),
  _("the keepers program; left as keepers, it is looked for on the PATH"), "keepers")
dt.preferences.register(MODULE, "daemon_url", "string", _("keepers: daemon URL"),
  _("e.g. http://127.0.0.1:8765 (empty: run the keepers program)"), "")
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
dt.preferences.register(MODULE, "export_content_tags", "bool", _("keepers: export content tags"),
  _("exports keep Keepers' content tags (Keepers|animal|bird); flaw|... and group|... never leave"), false)
dt.preferences.register(MODULE, "batch", "integer", _("keepers: photos per run"),
  _("without a daemon, a large selection is analysed in runs of about this many photos (the progress moves and a "
    .. "cancel stops between runs; a burst is never split)"),
  200, 1, 1000)

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

-- finding and running programs -------------------------------------------------------------------------------------

local function sh(s)
  if WINDOWS then return '"' .. s:gsub('"', '\\"') .. '"' end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

local function spit(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

local tmp_n = 0
local function tmpfile(ext)
  tmp_n = tmp_n + 1
  return string.format("%s%skeepers-%d-%d-%d%s", dt.configuration.tmp_dir, PS, os.time(), math.random(1e6), tmp_n,
                       ext)
end

local function is_executable(path)
  if WINDOWS then
    local f = io.open(path, "rb")
    if f then f:close() end
    return f ~= nil
  end
  local ok = os.execute("test -f " .. sh(path) .. " && test -x " .. sh(path))
  return ok == true or ok == 0
end

local function on_path(name)
  for dir in (os.getenv("PATH") or ""):gmatch(WINDOWS and "[^;]+" or "[^:]+") do
    for _i, ext in ipairs(WINDOWS and { ".exe", ".cmd", ".bat" } or { "" }) do
      local p = dir .. PS .. name .. ext
      if is_executable(p) then return p end
    end
  end
end

-- the command line of program `name` (quoted), or nil and why: the executable_paths/<name> preference, else the
-- PATH (with lua-scripts installed, df.check_if_bin_exists does both, their way)
function K.executable(name)
  local set = dt.preferences.read("executable_paths", name, "string")
  if df then
    local found = df.check_if_bin_exists(name)
    if found then return found end
  elseif set ~= "" and set ~= name then
    if is_executable(set) then return sh(set) end
  else
    local found = on_path(name)
    if found then return sh(found) end
  end
  if set ~= "" and set ~= name then
    return nil, string.format(_("%s was not found at %s: set its path in preferences > lua options"), name, set)
  end
  return nil, string.format(_("%s was not found on the PATH: install it, or set its path in preferences > lua options"),
                            name)
end

-- run a shell command with darktable's Lua lock released (dt.control.execute), so darktable and other scripts go
-- on meanwhile; returns the exit status, stdout and stderr
local function execute(cmd)
  local out, err = tmpfile(".out"), tmpfile(".err")
  local line = cmd .. " >" .. sh(out) .. " 2>" .. sh(err)
  if WINDOWS then line = '"' .. line .. '"' end  -- cmd.exe strips one pair of quotes around the whole line
  local status = dt.control.execute(line)
  local o, e = slurp(out), slurp(err)
  os.remove(out)
  os.remove(err)
  return status, o, e
end

local function last_line(s)
  local last
  for l in s:gmatch("[^\r\n]+") do if l:match("%S") then last = l end end
  return last or ""
end

local function report(msg)  -- a failure the photographer must see: on screen, and in the log (-d lua)
  dt.print(msg)
  dt.print_error(msg)
end

-- talking to Keepers ----------------------------------------------------------------------------------------------

-- `keepers cull --json --dry-run --host darktable FILES` on one batch: darktable writes the sidecars itself
local function cull_cli(paths)
  local bin, why = K.executable("keepers")
  if not bin then return nil, why end
  local cmd = { bin, "cull", "--json", "--dry-run", "--host", "darktable" }
  for _i, p in ipairs(paths) do cmd[#cmd + 1] = sh(p) end
  local status, out, err = execute(table.concat(cmd, " "))
  local records = {}
  for line in out:gmatch("[^\n]+") do
    local ok, rec = pcall(json.decode, line)
    if ok and type(rec) == "table" and (rec.path or rec.input) then records[#records + 1] = rec end
  end
  if #records == 0 and #paths > 0 then  -- it failed as a whole: say why, in its own words
    return nil, string.format(_("keepers failed (status %s): %s"), tostring(status), last_line(err))
  end
  return records
end

local function curl(method, url, body)
  local bin, why = K.executable("curl")
  if not bin then return nil, why end
  local cmd = bin .. " -s -S --max-time 600 -X " .. method .. " -H " ..
              sh("Authorization: Bearer " .. pref("api_key", "string"))
  local file
  if body then  -- the body goes in a file: thousands of paths do not fit a command line
    file = tmpfile(".json")
    spit(file, body)
    cmd = cmd .. " -H " .. sh("Content-Type: application/json") .. " --data-binary " .. sh("@" .. file)
  end
  local _status, out, err = execute(cmd .. " " .. sh(url))
  if file then os.remove(file) end
  local ok, data = pcall(json.decode, out)
  if not ok or type(data) ~= "table" then
    return nil, string.format(_("no answer from the Keepers daemon at %s: %s"), url, last_line(err))
  end
  if data.error then return nil, tostring(type(data.error) == "table" and data.error.message or data.error) end
  return data
end

-- one /v1/jobs job (bursts are found across a job's photos), its body in a file, followed until done;
-- `progress(done)` as it goes; cancelling cancels the job
local function cull_daemon(paths, progress)
  local base = pref("daemon_url", "string"):gsub("/+$", "")
  local quoted = {}
  for i, p in ipairs(paths) do quoted[i] = json.quote(p) end
  local job, err = curl("POST", base .. "/v1/jobs", '{"paths": [' .. table.concat(quoted, ",") .. '], "write": false}')
  while job and (job.state == "queued" or job.state == "running") do
    if K.cancelled then
      curl("POST", base .. "/v1/jobs/" .. job.id .. "/cancel")
      return nil, _("cancelled")
    end
    progress(tonumber(job.done) or 0)
    dt.control.sleep(500)
    job, err = curl("GET", base .. "/v1/jobs/" .. job.id)
  end
  if not job then return nil, err end
  if job.state ~= "done" then
    return nil, string.format(_("Keepers job %s: %s"), tostring(job.state), tostring(job.error))
  end
  local res
  res, err = curl("GET", base .. "/v1/jobs/" .. job.id .. "/results")
  return res and res.results, err
end

-- batches ---------------------------------------------------------------------------------------------------------

local function taken(img)  -- capture time in seconds, or nil
  local y, mo, d, h, mi, s = tostring(img.exif_datetime_taken or ""):match("^(%d+):(%d+):(%d+) (%d+):(%d+):(%d+)")
  if not y then return nil end
  return os.time({ year = tonumber(y), month = tonumber(mo), day = tonumber(d), hour = tonumber(h),
                   min = tonumber(mi), sec = tonumber(s) })
end

local function image_path(image) return image.path .. PS .. image.filename end

-- `images` (deduplicated) in batches of about `size`: in folder and capture-time order, a batch ends only where the
-- next photo is in another folder or taken more than K.GAP s later (a burst stays whole, so it is grouped), or at
-- twice `size`, or where the command line would grow past what the system takes
function K.batches(images, size, max_chars)
  local list, seen = {}, {}
  for _i, img in ipairs(images) do
    local p = image_path(img)
    if not seen[p] then
      seen[p] = true
      list[#list + 1] = { img = img, path = p, dir = img.path, t = taken(img) }
    end
  end
  table.sort(list, function(a, b)
    if a.dir ~= b.dir then return a.dir < b.dir end
    if a.t and b.t and a.t ~= b.t then return a.t < b.t end
    return a.path < b.path
  end)
  local batches, cur, chars = {}, {}, 0
  for i, e in ipairs(list) do
    cur[#cur + 1] = e
    chars = chars + #e.path + 3
    local nxt = list[i + 1]
    local cut = nxt == nil or #cur >= 2 * size or chars + #nxt.path + 3 > max_chars
    if not cut and #cur >= size then
      cut = nxt.dir ~= e.dir or not (nxt.t and e.t) or nxt.t - e.t > K.GAP
    end
    if cut then
      batches[#batches + 1] = cur
      cur, chars = {}, 0
    end
  end
  return batches
end

-- applying a verdict ----------------------------------------------------------------------------------------------

local function labels()
  local map = {}
  for role, colour in pref("labels", "string"):gmatch("(%a+)%s*=%s*(%a*)") do map[role] = colour end
  return map
end

function K.role(rec)
  if rec.stars == -1 then return "reject" end
  for _i, k in ipairs(rec.keywords or {}) do if k == "group|alternate" then return "alternate" end end
  if rec.pick and rec.group then return "pick" end
  return rec.verdict == "good" and "keeper" or "other"
end

local function marks(image)  -- Keepers' own hidden tags on an image: { rating = "3", label = { red = tag } }
  local m = { label = {}, tags = {} }
  for _i, t in ipairs(dt.tags.get_tags(image)) do
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
  for _i, colour in ipairs(COLOURS) do
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
  for _i, k in ipairs(rec.keywords or {}) do
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
  for _i, rec in ipairs(records) do
    if rec.group then
      local g = groups[rec.group] or { members = {} }
      groups[rec.group] = g
      for _i, f in ipairs(rec.files or { rec.path }) do
        local img = images_by_path[f]
        if img then
          table.insert(g.members, img)
          if rec.pick and not g.leader then g.leader = img end
        end
      end
    end
  end
  for _i, g in pairs(groups) do
    local leader = g.leader or g.members[1]
    if #g.members > 1 then
      for _i, img in ipairs(g.members) do
        if img ~= leader then img:group_with(leader) end
      end
      leader:make_group_leader()
    end
  end
end

-- analysing -------------------------------------------------------------------------------------------------------

function K.cancel() K.cancelled = true end

-- the images a record answers for: by the path darktable asked with (`input`), the photo's path and its files
local function images_of(rec, by_path)
  local out, seen, keys = {}, {}, { rec.input or false, rec.path or false }
  for _i, f in ipairs(rec.files or {}) do keys[#keys + 1] = f end
  for _i, p in ipairs(keys) do
    local img = p and by_path[p]
    if img and not seen[img] then
      seen[img] = true
      out[#out + 1] = img
    end
  end
  return out
end

-- ask Keepers about `images` and apply the answers batch by batch; returns the records, and an error when the
-- analysis failed or was cancelled (K.last says what was done)
function K.analyze(images)
  if K.running then
    dt.print(_("keepers: already analysing; start again when it is done (or cancel it)"))
    return nil, "busy"
  end
  local daemon = pref("daemon_url", "string") ~= ""
  -- the daemon takes a whole shoot in one job (up to 20,000 paths), so its bursts are found across all of it, and
  -- reports its progress; the keepers program runs on batches that keep its command line short
  local size = daemon and 5000 or math.min(math.max(pref("batch", "integer"), 1), 500)
  local batches = K.batches(images, size, daemon and math.huge or (WINDOWS and 7000 or 100000))
  local total = 0
  for _i, b in ipairs(batches) do total = total + #b end
  K.last = { runs = 0, progress = {}, total = total, done = 0, failed = 0, errors = {} }
  if total == 0 then return {} end
  K.running, K.cancelled = true, false
  local job
  if dt.configuration.has_gui then
    job = dt.gui.create_job(string.format(_("keepers: analysing %d photo(s)"), total), true, function() K.cancel() end)
  end
  local finished = 0
  local function progress(n)
    local p = (finished + n) / total
    K.last.progress[#K.last.progress + 1] = p
    if job then job.percent = p end
    if K.on_progress then K.on_progress(finished + n, total) end
  end
  local all, err = {}, nil
  local ok, crash = pcall(function()
    for _i, batch in ipairs(batches) do
      if K.cancelled then err = _("cancelled"); break end
      local by_path, paths = {}, {}
      for i, e in ipairs(batch) do
        by_path[e.path], paths[i] = e.img, e.path
      end
      local records
      if daemon then records, err = cull_daemon(paths, progress) else records, err = cull_cli(paths) end
      K.last.runs = K.last.runs + 1
      if not records then break end
      local answered = {}
      for _i, rec in ipairs(records) do
        all[#all + 1] = rec
        local imgs = images_of(rec, by_path)
        if #imgs == 0 then  -- an answer for a photo darktable did not ask about: said, never dropped silently
          K.last.failed = K.last.failed + 1
          table.insert(K.last.errors, string.format(_("%s: not a photo darktable asked about"), tostring(rec.path)))
        elseif rec.error or not rec.verdict then
          K.last.failed = K.last.failed + #imgs
          table.insert(K.last.errors, string.format("%s: %s", tostring(rec.path), tostring(rec.error)))
          for _i, img in ipairs(imgs) do answered[img] = true end
        else
          for _i, img in ipairs(imgs) do
            K.apply(img, rec)
            answered[img] = true
            K.last.done = K.last.done + 1
          end
        end
      end
      K.group(by_path, records)
      for _i, e in ipairs(batch) do
        if not answered[e.img] then
          K.last.failed = K.last.failed + 1
          table.insert(K.last.errors, string.format(_("%s: no answer from Keepers"), e.path))
        end
      end
      finished = finished + #batch
      progress(0)
    end
  end)
  if not ok then err = tostring(crash) end
  K.running = false
  if job then job.valid = false end
  K.last.cancelled = K.cancelled
  for _i, e in ipairs(K.last.errors) do dt.print_error("keepers: " .. e) end
  if err then
    report(string.format(_("keepers: %s (%d of %d photo(s) rated and tagged)"), err, K.last.done, total))
  else
    local msg = string.format(_("keepers: %d photo(s) rated and tagged, %d failed"), K.last.done, K.last.failed)
    if K.last.failed > 0 then msg = msg .. ": " .. K.last.errors[1] end
    dt.print(msg)
  end
  return all, err
end

function K.analyze_queue()
  local images = K.queue
  K.queue = {}
  return K.analyze(images)
end

-- keeping Keepers' tags out of exports ----------------------------------------------------------------------------

-- the tags of `image` an export must not carry, and the photographer's (and exportable) ones
function K.private_tags(image)
  local private, kept = {}, {}
  local content = pref("export_content_tags", "bool")
  for _i, t in ipairs(dt.tags.get_tags(image)) do
    local name = t.name
    if name:sub(1, 10) ~= "darktable|" then  -- darktable never exports its own
      local ours = name:sub(1, #K.ROOT + 1) == K.ROOT .. "|"
      local kind = ours and name:sub(#K.ROOT + 2):match("^[^|]+")
      if ours and (K.JUDGEMENT[kind] or not content) then
        private[#private + 1] = name
      else
        kept[#kept + 1] = name
      end
    end
  end
  return private, kept
end

-- darktable has written the export's keywords (its Lua API cannot mark a tag private): take ours out of
-- lr:hierarchicalSubject and, unless the photographer's own tags have them too, their parts out of dc:subject
-- (darktable writes every level of a tag there) and IPTC Keywords. Only the listed values go; the file is rewritten
-- by exiftool before darktable's storage takes it.
function K.strip_export(image, filename)
  local private, kept = K.private_tags(image)
  if #private == 0 then return true end
  local bin, why = K.executable("exiftool")
  if not bin then return nil, why end
  local theirs, args, gone = {}, { "-overwrite_original", "-charset", "filename=utf8", "-q", "-q" }, {}
  for _i, name in ipairs(kept) do
    for part in name:gmatch("[^|]+") do theirs[part] = true end
  end
  for _i, name in ipairs(private) do
    args[#args + 1] = "-XMP-lr:HierarchicalSubject-=" .. name
    for part in name:gmatch("[^|]+") do
      if not theirs[part] and not gone[part] then
        gone[part] = true
        args[#args + 1] = "-XMP-dc:Subject-=" .. part
        args[#args + 1] = "-IPTC:Keywords-=" .. part
      end
    end
  end
  args[#args + 1] = filename
  local argfile = tmpfile(".args")  -- one argument a line: any keyword or file name, no quoting
  spit(argfile, table.concat(args, "\n") .. "\n")
  local status, _out, err = execute(bin .. " -@ " .. sh(argfile))
  os.remove(argfile)
  if status ~= 0 then return nil, string.format("exiftool: %s", last_line(err)) end
  return true
end

K.exports = 0  -- exported files handled since darktable started
local function on_export(event, image, filename, format, storage)
  local ok, err = K.strip_export(image, filename)
  if not ok then
    report(string.format(_("keepers: could not remove Keepers' tags from the export of %s: %s"), image.filename,
                         tostring(err)))
  end
  K.exports = K.exports + 1
end

-- darktable wiring ------------------------------------------------------------------------------------------------

-- run `fn` after the calling event (or button) has returned, where darktable offers it (dt.control.dispatch);
-- the work itself releases darktable's Lua lock while Keepers runs (dt.control.execute, dt.control.sleep)
local function later(fn)
  if dt.control.dispatch then dt.control.dispatch(fn) else fn() end
end

-- `fn` later, then the photos imported meanwhile when "analyze on import" is on (their film event found it busy)
local function analyze_later(fn)
  later(function()
    fn()
    if #K.queue > 0 and pref("auto_analyze", "bool") then K.analyze_queue() end
  end)
end

local function analyze_queue_later() analyze_later(K.analyze_queue) end

local function on_import(event, image)
  table.insert(K.queue, image)
end

local function on_film(event, film)
  if pref("auto_analyze", "bool") and not K.running then analyze_queue_later() end
end

local widgets = {
  dt.new_widget("button") {
    label = _("analyze selected"),
    tooltip = _("rate, label, tag and group the selected photos"),
    clicked_callback = function()
      local images = dt.gui.action_images
      analyze_later(function() K.analyze(images) end)
    end,
  },
  dt.new_widget("button") {
    label = _("analyze imported"),
    tooltip = _("the photos imported since the last analysis"),
    clicked_callback = analyze_queue_later,
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

local function set_visible(on)
  if installed then dt.gui.libs[MODULE].visible = on end
end

-- the import events are registered at most once: darktable refuses a second registration of the same name
-- ("duplicate index name"), which script_manager's start after a stop would otherwise cause
local listening = false
local function listen(on)
  if on == listening then return end
  if on then
    dt.register_event(MODULE .. "_import", "post-import-image", on_import)
    dt.register_event(MODULE .. "_film", "post-import-film", on_film)
  else
    dt.destroy_event(MODULE .. "_import", "post-import-image")
    dt.destroy_event(MODULE .. "_film", "post-import-film")
  end
  listening = on
end

-- script_manager: "stop" calls destroy (the module hides; imports are no longer queued), "start" after a stop calls
-- restart, and right after loading a "hide" script it calls show, which only shows the module (as photils.lua)
local function destroy()
  set_visible(false)
  listen(false)
end

local function restart()
  listen(true)
  set_visible(true)
end

local function show()
  set_visible(true)
end

if dt.configuration.has_gui then
  if dt.gui.current_view().id == "lighttable" then
    install()
  else
    dt.register_event(MODULE .. "_view", "view-changed", function(event, old_view, new_view)
      if new_view.id == "lighttable" and not installed then
        install()
        set_visible(listening)  -- stopped in script_manager before the lighttable was first shown
      end
    end)
  end
end
listen(true)
-- Keepers' tags stay out of exports for as long as darktable runs, also once the script is stopped: the tags stay
-- in the library
dt.register_event(MODULE .. "_export", "intermediate-export-image", on_export)

script_data.destroy = destroy
script_data.destroy_method = "hide"
script_data.restart = restart
script_data.show = show
script_data.api = K  -- for scripts and tests: analyze(images), apply(image, record), group(...), strip_export(...)

return script_data
