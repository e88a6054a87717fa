--[[ JSON.lua: a small JSON encoder/decoder in pure Lua 5.1 (Lightroom Classic ships none).
Written for Keepers (Apache-2.0). decode() turns null into nil (an object field is then absent; an array keeps
its length in `n`); encode() writes a table with only 1..n keys as an array, JSON.array{} as an empty array. ]]

local JSON = {}

local ARRAY = {}  -- metatable marking a table as an array, even when empty
function JSON.array(t)
  return setmetatable(t or {}, ARRAY)
end

-- decoding ------------------------------------------------------------------------------------------------------

local escapes = { ['"'] = '"', ['\\'] = '\\', ['/'] = '/', b = '\b', f = '\f', n = '\n', r = '\r', t = '\t' }

local function utf8(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 0x40), 0x80 + cp % 0x40) end
  if cp < 0x10000 then
    return string.char(0xE0 + math.floor(cp / 0x1000), 0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
  return string.char(0xF0 + math.floor(cp / 0x40000), 0x80 + math.floor(cp / 0x1000) % 0x40,
                     0x80 + math.floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
end

local function fail(s, i, what)
  error(string.format("JSON: %s at character %d near %q", what, i, s:sub(i, i + 20)), 0)
end

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local value  -- forward declaration

local function str(s, i)  -- s:sub(i, i) == '"'
  local out, j = {}, i + 1
  while true do
    local k = s:find('["\\]', j)
    if not k then fail(s, i, "unterminated string") end
    out[#out + 1] = s:sub(j, k - 1)
    if s:sub(k, k) == '"' then return table.concat(out), k + 1 end
    local c = s:sub(k + 1, k + 1)
    if c == "u" then
      local hex = s:sub(k + 2, k + 5)
      if not hex:match("^%x%x%x%x$") then fail(s, k, "bad \\u escape") end
      local cp, nxt = tonumber(hex, 16), k + 6
      if cp >= 0xD800 and cp <= 0xDBFF and s:sub(nxt, nxt + 1) == "\\u" then  -- a surrogate pair
        local lo = tonumber(s:sub(nxt + 2, nxt + 5), 16)
        if lo and lo >= 0xDC00 and lo <= 0xDFFF then
          cp, nxt = 0x10000 + (cp - 0xD800) * 0x400 + (lo - 0xDC00), nxt + 6
        end
      end
      out[#out + 1] = utf8(cp)
      j = nxt
    elseif escapes[c] then
      out[#out + 1] = escapes[c]
      j = k + 2
    else
      fail(s, k, "bad escape")
    end
  end
end

local function array(s, i)
  local t, n = {}, 0
  i = skip(s, i + 1)
  if s:sub(i, i) == "]" then t.n = 0 return JSON.array(t), i + 1 end
  while true do
    local v
    v, i = value(s, i)
    n = n + 1
    t[n] = v
    i = skip(s, i)
    local c = s:sub(i, i)
    if c == "]" then t.n = n return JSON.array(t), i + 1 end
    if c ~= "," then fail(s, i, "expected ',' or ']'") end
    i = skip(s, i + 1)
  end
end

local function object(s, i)
  local t = {}
  i = skip(s, i + 1)
  if s:sub(i, i) == "}" then return t, i + 1 end
  while true do
    if s:sub(i, i) ~= '"' then fail(s, i, "expected a string key") end
    local k, v
    k, i = str(s, i)
    i = skip(s, i)
    if s:sub(i, i) ~= ":" then fail(s, i, "expected ':'") end
    v, i = value(s, skip(s, i + 1))
    t[k] = v
    i = skip(s, i)
    local c = s:sub(i, i)
    if c == "}" then return t, i + 1 end
    if c ~= "," then fail(s, i, "expected ',' or '}'") end
    i = skip(s, i + 1)
  end
end

value = function(s, i)
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then return object(s, i) end
  if c == "[" then return array(s, i) end
  if c == '"' then return str(s, i) end
  if s:sub(i, i + 3) == "true" then return true, i + 4 end
  if s:sub(i, i + 4) == "false" then return false, i + 5 end
  if s:sub(i, i + 3) == "null" then return nil, i + 4 end
  local num = s:match("^-?%d+%.?%d*[eE]?[-+]?%d*", i)
  if num and num ~= "" and tonumber(num) then return tonumber(num), i + #num end
  fail(s, i, "unexpected character")
end

function JSON.decode(s)
  if type(s) ~= "string" then error("JSON: expected a string, got " .. type(s), 0) end
  local v, i = value(s, 1)
  i = skip(s, i)
  if i <= #s then fail(s, i, "trailing characters") end
  return v
end

-- encoding ------------------------------------------------------------------------------------------------------

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    local e = ({ ['"'] = '\\"', ['\\'] = '\\\\', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' })[c]
    return e or string.format("\\u%04x", c:byte())
  end) .. '"'
end

local function is_array(t)
  if getmetatable(t) == ARRAY then return true end
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k % 1 ~= 0 then return false end
    n = n + 1
  end
  return n > 0 and n == #t
end

local function encode(v, seen)
  local ty = type(v)
  if v == nil then return "null" end
  if ty == "boolean" then return tostring(v) end
  if ty == "number" then
    if v ~= v or v == math.huge or v == -math.huge then error("JSON: cannot encode " .. tostring(v), 0) end
    if v % 1 == 0 and math.abs(v) < 2^53 then return string.format("%d", v) end
    return string.format("%.14g", v)
  end
  if ty == "string" then return quote(v) end
  if ty ~= "table" then error("JSON: cannot encode a " .. ty, 0) end
  if seen[v] then error("JSON: cannot encode a cycle", 0) end
  seen[v] = true
  local out = {}
  if is_array(v) then
    local n = (getmetatable(v) == ARRAY and type(v.n) == "number") and v.n or #v  -- decoded arrays keep nulls
    for i = 1, n do out[i] = encode(v[i], seen) end
    seen[v] = nil
    return "[" .. table.concat(out, ",") .. "]"
  end
  local keys = {}
  for k in pairs(v) do
    if type(k) ~= "string" then error("JSON: object keys must be strings", 0) end
    keys[#keys + 1] = k
  end
  table.sort(keys)  -- stable output
  for _, k in ipairs(keys) do out[#out + 1] = quote(k) .. ":" .. encode(v[k], seen) end
  seen[v] = nil
  return "{" .. table.concat(out, ",") .. "}"
end

function JSON.encode(v)
  return encode(v, {})
end

return JSON
