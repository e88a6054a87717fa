--[[ Calls to the Keepers daemon's HTTP API with LrHttp (inside an async task). Photos are sent as file paths:
the daemon runs on this machine and reads them itself, and answers with each path exactly as sent (a library
reached through a symlink or a mapped drive included). Every call returns (data) or (nil, message, code). ]]

local LrHttp = import "LrHttp"
local LrTasks = import "LrTasks"
local JSON = require "JSON"
local Prefs = require "Prefs"

local Client = {}
Client.CHUNK = 100  -- paths per /v1/predict request (the daemon takes up to its max_inputs, 1,000 by default)
Client.JOB_MAX = 20000  -- paths per job (the daemon's limit): a bigger selection runs as several jobs
Client.PAGE = 1000  -- results per page of a job's results
Client.SIGNALS = 500  -- photos per /v1/signals request
Client.TIMEOUT = 600  -- seconds: a first analysis loads the models
Client.POLL = 0.5  -- seconds between looks at a running job

local function settings(key)
  local p = Prefs.get()
  return (p.url or Prefs.DEFAULTS.url):gsub("/+$", ""), key or Prefs.apiKey()
end

local function answer(url, body, headers)
  local status = headers and headers.status
  if body == nil or status == nil then
    local e = headers and headers.error
    return nil, "The Keepers daemon does not answer at " .. url .. " (is `keepers serve` running?)"
      .. (e and (": " .. tostring(e.name or e.errorCode)) or ""), "unreachable"
  end
  local ok, data = pcall(JSON.decode, body)
  if status >= 400 then
    local e = ok and type(data) == "table" and data.error or {}
    local code = e.code or ("http_" .. status)
    local msg = e.message or ("HTTP " .. status)
    if status == 401 then msg = "The API key was refused: set it in Keepers settings (" .. msg .. ")" end
    return nil, msg, code
  end
  if not ok then return nil, "The daemon's answer is not JSON: " .. tostring(data), "bad_answer" end
  return data
end

-- key: the one to use instead of the stored one (Test connection, before the dialog is saved)
function Client.request(method, path, body, key)
  local url, k = settings(key)
  if k == "" then return nil, "No API key: set one in Library > Plug-in Extras > Keepers settings", "no_key" end
  local headers = { { field = "Authorization", value = "Bearer " .. k },
                    { field = "Accept", value = "application/json" } }
  local resp, hdrs
  if method == "GET" then
    resp, hdrs = LrHttp.get(url .. path, headers, Client.TIMEOUT)
  else
    headers[#headers + 1] = { field = "Content-Type", value = "application/json" }
    resp, hdrs = LrHttp.post(url .. path, JSON.encode(body or {}), headers, method, Client.TIMEOUT)
  end
  return answer(url, resp, hdrs)
end

function Client.me(key)
  return Client.request("GET", "/v1/me", nil, key)
end

local function slice(list, first, n)
  local out = {}
  for i = first, math.min(first + n - 1, #list) do out[#out + 1] = list[i] end
  return out
end

-- /v1/predict, in chunks: { [path] = result } (result.verdict, result.error)
function Client.predict(paths, progress)
  local out = {}
  for i = 1, #paths, Client.CHUNK do
    local data, err, code = Client.request("POST", "/v1/predict", { paths = JSON.array(slice(paths, i, Client.CHUNK)) })
    if not data then return nil, err, code end
    for _, r in ipairs(data.results or {}) do out[r.input] = r end
    if progress and progress(math.min(i + Client.CHUNK - 1, #paths), #paths) then return nil, "cancelled", "cancelled" end
  end
  return out
end

-- one job over `paths`, polled until it ends, then its results a page at a time
local function runJob(paths, progress, before, total)
  local job, err, code = Client.request("POST", "/v1/jobs", { paths = JSON.array(paths), write = false })
  if not job then return nil, err, code end
  while job.state == "queued" or job.state == "running" do
    if progress and progress(before + (job.done or 0), total) then
      Client.request("POST", "/v1/jobs/" .. job.id .. "/cancel")
      return nil, "cancelled", "cancelled"
    end
    LrTasks.sleep(Client.POLL)
    job, err, code = Client.request("GET", "/v1/jobs/" .. job.id)
    if not job then return nil, err, code end
  end
  if job.state ~= "done" then return nil, "The Keepers job " .. job.state .. ": " .. tostring(job.error), job.state end
  local records, offset = {}, 0
  while offset do
    local page
    -- verdicts only: a record with every model's output is 12 KB, 120 MB for a 10,000-photo shoot in Lightroom
    page, err, code = Client.request("GET", "/v1/jobs/" .. job.id .. "/results?view=verdict&offset=" .. offset
                                     .. "&limit=" .. Client.PAGE)
    if not page then return nil, err, code end
    for _, r in ipairs(page.results or {}) do records[#records + 1] = r end
    offset = page.next_offset
  end
  return records
end

-- batch jobs over the photos (bursts are found across one job's photos): their records, one per frame.
-- progress(done, total) is called while the daemon works; returning true cancels the job (the daemon stops it)
function Client.job(paths, progress)
  local records = {}
  for first = 1, #paths, Client.JOB_MAX do
    local part, err, code = runJob(slice(paths, first, Client.JOB_MAX), progress, first - 1, #paths)
    if not part then return nil, err, code end
    for _, r in ipairs(part) do records[#records + 1] = r end
  end
  return records
end

-- the photographer's own signals (see Signals.lua), `Client.SIGNALS` photos a request
function Client.signals(photos, progress)
  local stored = { photos = 0, signals = 0 }
  for i = 1, #photos, Client.SIGNALS do
    local part = JSON.array(slice(photos, i, Client.SIGNALS))
    local data, err, code = Client.request("POST", "/v1/signals", { source = "lightroom", photos = part })
    if not data then return nil, err, code end
    stored.photos, stored.signals = stored.photos + data.photos, stored.signals + data.signals
    if progress and progress(math.min(i + Client.SIGNALS - 1, #photos), #photos) then
      return nil, "cancelled", "cancelled"
    end
  end
  return stored
end

function Client.similar(path, k)
  local data, err, code = Client.request("POST", "/v1/search/similar", { path = path, k = k })
  if not data then return nil, err, code end
  return data.results or {}
end

return Client
