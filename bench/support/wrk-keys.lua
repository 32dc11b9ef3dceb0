-- wrk script for bench/support/wrk.ts. Options come in through the environment:
--   WRK_METHOD         request method (default GET)
--   WRK_HEADERS        "name: value" lines, separated by "\n"
--   WRK_BODY_FILE      path of a file holding the body, read as bytes
--   WRK_DISTINCT_KEYS  n: send n bodies in turn, __KEY__ replaced by user-0..user-(n-1)
-- Prints one line "WRK_JSON {...}" at the end; times in microseconds.
--
-- No response() callback: defining one makes wrk hand every response's headers and body to Lua.
-- wrk's own summary.errors.status counts responses with status >= 400 instead.

local method = os.getenv("WRK_METHOD") or "GET"
local headers = {}
for line in string.gmatch(os.getenv("WRK_HEADERS") or "", "[^\n]+") do
  local colon = string.find(line, ":", 1, true)
  if colon then
    local name = string.sub(line, 1, colon - 1)
    local value = string.gsub(string.sub(line, colon + 1), "^%s+", "")
    headers[name] = value
  end
end

local body = nil
local body_file = os.getenv("WRK_BODY_FILE")
if body_file and body_file ~= "" then
  local f = assert(io.open(body_file, "rb"))
  body = f:read("*a")
  f:close()
end

-- Replaces every occurrence of the plain text `from` (no patterns) in s.
local function replace_all(s, from, to)
  local out, start = {}, 1
  while true do
    local i, j = string.find(s, from, start, true)
    if not i then break end
    out[#out + 1] = string.sub(s, start, i - 1)
    out[#out + 1] = to
    start = j + 1
  end
  out[#out + 1] = string.sub(s, start)
  return table.concat(out)
end

local function copy(t)
  local c = {}
  for k, v in pairs(t) do c[k] = v end
  return c
end

local keys = tonumber(os.getenv("WRK_DISTINCT_KEYS") or "") or 0
local cycle = body ~= nil and keys > 1 and string.find(body, "__KEY__", 1, true) ~= nil

wrk.method = method
wrk.headers = headers
wrk.body = (body ~= nil and keys == 1) and replace_all(body, "__KEY__", "user-0") or body

if cycle then
  -- Defined only when needed: without a global request(), wrk sends one pre-built request
  -- without calling into Lua per request.
  local requests, count, i = {}, 0, 0

  function init(_args)
    for k = 0, keys - 1 do
      requests[k + 1] = wrk.format(method, nil, copy(headers), replace_all(body, "__KEY__", "user-" .. k))
    end
    count = keys
  end

  function request()
    i = i % count + 1
    return requests[i]
  end
end

function done(summary, latency, _requests)
  local e = summary.errors
  local mean = latency.mean
  if mean ~= mean then mean = 0 end -- NaN when nothing completed
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d},' ..
    '"latencyUs":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.3f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, mean))
end
