--[[ Calls to the Keepers daemon's HTTP API with LrHttp (inside an async task). Photos are sent as file paths:
the daemon runs on this machine and reads them itself. Every call returns (data) or (nil, message, code). ]]

local LrHttp = import "LrHttp"
local LrTasks = import "LrTasks"
local JSON = require "JSON"
local Prefs = require "Prefs"

local Client = {}
Client.CHUNK = 100  -- paths per request (the daemon takes up to 1000)
Client.TIMEOUT = 600  -- seconds: a first analysis loads the models

local function settings()
  local p = Prefs.get()
  return (p.url or Prefs.DEFAULTS.url):gsub("/+$", ""), p.apiKey or ""
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

function Client.request(method, path, body)
  local url, key = settings()
  if key == "" then return nil, "No API key: set one in Library > Plug-in Extras > Keepers settings", "no_key" end
  local headers = { { field = "Authorization", value = "Bearer " .. key },
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

function Client.me()
  return Client.request("GET", "/v1/me")
end

-- /v1/predict, in chunks: { [path] = result } (result.verdict, result.error)
function Client.predict(paths, progress)
  local out = {}
  for i = 1, #paths, Client.CHUNK do
    local chunk = {}
    for j = i, math.min(i + Client.CHUNK - 1, #paths) do chunk[#chunk + 1] = paths[j] end
    local data, err, code = Client.request("POST", "/v1/predict", { paths = JSON.array(chunk) })
    if not data then return nil, err, code end
    for _, r in ipairs(data.results or {}) do out[r.input] = r end
    if progress and progress(math.min(i + Client.CHUNK - 1, #paths), #paths) then return nil, "cancelled", "cancelled" end
  end
  return out
end

-- a batch job (bursts are found across the photos of one job): its records, one per frame
function Client.job(paths, progress)
  local job, err, code = Client.request("POST", "/v1/jobs", { paths = JSON.array(paths), write = false })
  if not job then return nil, err, code end
  while job.state == "queued" or job.state == "running" do
    if progress and progress(job.done or 0, math.max(job.total or 0, 1)) then
      Client.request("POST", "/v1/jobs/" .. job.id .. "/cancel")
      return nil, "cancelled", "cancelled"
    end
    LrTasks.sleep(0.5)
    job, err, code = Client.request("GET", "/v1/jobs/" .. job.id)
    if not job then return nil, err, code end
  end
  if job.state ~= "done" then return nil, "The Keepers job " .. job.state .. ": " .. tostring(job.error), job.state end
  local res
  res, err, code = Client.request("GET", "/v1/jobs/" .. job.id .. "/results")
  if not res then return nil, err, code end
  return res.results or {}
end

function Client.similar(path, k)
  local data, err, code = Client.request("POST", "/v1/search/similar", { path = path, k = k })
  if not data then return nil, err, code end
  return data.results or {}
end

return Client
