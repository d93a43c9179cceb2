-- bench/statistic.lua - wrk script: POSTs the statistic bodies of a mix.
--
--   wrk ... -s bench/statistic.lua URL -- MIX_TSV TOKEN PROJECT REGION [NAME]
--
-- MIX_TSV is bench/mix.sh's index. Each connection cycles through the
-- bodies in order (all of them, or only the body NAME). done() prints one
-- RESULT line that bench/run.sh reads. bench/run.sh uses it for requests
-- per second; its latencies are timed with gettimeofday, which steps by
-- milliseconds on some virtual machines, so latency with one connection
-- is measured by bench/latency.c instead.
local entries = {}

local function load(path, only)
  local list = {}
  for line in io.lines(path) do
    local name, report, ep, body_file = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)\t([^\t]+)")
    if name and (only == nil or only == name) then
      local f = assert(io.open(body_file, "rb"))
      local body = f:read("*a")
      f:close()
      table.insert(list, {name = name, report = report, ep = ep, body = body})
    end
  end
  assert(#list > 0, "no body in " .. path .. (only and (" named " .. only) or ""))
  return list
end

local requests = {}
local next_i = 1

function init(args)
  local mix, token, project, region, only = args[1], args[2], args[3], args[4], args[5]
  entries = load(mix, only)
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Auth-Token"] = token,
    ["region"] = region,
  }
  for i, e in ipairs(entries) do
    local path = "/v5/" .. project .. "/image/security-report/statistic?security_report_type=" ..
      e.report .. "&enterprise_project_id=" .. e.ep
    requests[i] = wrk.format("POST", path, headers, e.body)
  end
  -- threads start at different bodies, so that a short run still covers the mix
  next_i = (math.random(1, #requests))
end

function request()
  local r = requests[next_i]
  next_i = next_i % #requests + 1
  return r
end

function done(summary, latency, requests_)
  local us = summary.duration
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f mean_ms=%.3f errors=%d non2xx=%d\n",
    summary.requests, us / 1e6, summary.requests / (us / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000,
    e.connect + e.read + e.write + e.timeout, e.status))
end
