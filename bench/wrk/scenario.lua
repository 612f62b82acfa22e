-- Data-driven wrk script: the scenario is a file written by bench/wrk.ts (BENCH_SPEC), one
-- directive per line:
--   ids PATH              customer ids, one a line, for {id}
--   req WEIGHT            starts a request template, chosen with that relative weight
--   method M | path P | header NAME: VALUE | body TEXT
--   end
-- Placeholders: {id} a random id from the ids file, {uniq} unique within the run (run tag,
-- thread, counter). Templates without placeholders are formatted once; a scenario of one such
-- template costs wrk no Lua at all per request.
-- done() prints one line, "BENCHJSON {...}", with throughput, latency (microseconds) and errors.

local ids = {}
local templates = {}
local total_weight = 0
local counter = 0
local tag = os.getenv("BENCH_TAG") or "run"

local function read_spec(path)
  local current
  for line in io.lines(path) do
    local op, rest = line:match("^(%S+)%s?(.*)$")
    if op == "ids" then
      for id in io.lines(rest) do
        if id ~= "" then ids[#ids + 1] = id end
      end
    elseif op == "req" then
      current = { weight = tonumber(rest), method = "GET", headers = {}, body = nil }
    elseif op == "method" then
      current.method = rest
    elseif op == "path" then
      current.path = rest
    elseif op == "header" then
      local name, value = rest:match("^([^:]+):%s*(.*)$")
      current.headers[name] = value
    elseif op == "body" then
      current.body = rest
    elseif op == "end" then
      local text = current.path .. (current.body or "")
      for _, v in pairs(current.headers) do text = text .. v end
      current.dynamic = text:find("{", 1, true) ~= nil
      total_weight = total_weight + current.weight
      current.upto = total_weight
      templates[#templates + 1] = current
    end
  end
end

read_spec(os.getenv("BENCH_SPEC"))

-- Runs in the main state, once per thread: each thread's {uniq} values get their own prefix.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("thread_id", tostring(threads))
end

local function fill(text, id, uniq)
  if text == nil then return nil end
  return (text:gsub("{id}", id):gsub("{uniq}", uniq))
end

function init(args)
  thread_id = thread_id or "0"
  math.randomseed(os.time() * 1000 + tonumber(thread_id))
  for _, t in ipairs(templates) do
    if not t.dynamic then t.fixed = wrk.format(t.method, t.path, t.headers, t.body) end
  end
end

local function dynamic_request()
  local t = templates[1]
  if #templates > 1 then
    local r = math.random() * total_weight
    for _, c in ipairs(templates) do
      if r < c.upto then t = c break end
    end
  end
  if t.fixed then return t.fixed end
  counter = counter + 1
  local id = #ids > 0 and ids[math.random(#ids)] or ""
  local uniq = tag .. "-" .. (thread_id or "0") .. "-" .. counter
  local headers = {}
  for k, v in pairs(t.headers) do headers[k] = fill(v, id, uniq) end
  return wrk.format(t.method, fill(t.path, id, uniq), headers, fill(t.body, id, uniq))
end

-- One fixed request: wrk sends its own pre-formatted copy, no Lua call per request.
if #templates == 1 and not templates[1].dynamic then
  wrk.method = templates[1].method
  wrk.path = templates[1].path
  wrk.headers = templates[1].headers
  wrk.body = templates[1].body
else
  request = dynamic_request
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"duration_us":%d,"requests":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"p50":%d,"p90":%d,"p99":%d,"p999":%d,"max":%d}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
