-- Shared by the bench scripts: file reading, per-thread counters, and a done() that prints one JSON line.

counter_names = {"creates", "cancels", "failures"}
local threads = {}

function read_file(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local counters = {}
  for _, name in ipairs(counter_names) do
    local total = 0
    for _, thread in ipairs(threads) do total = total + (tonumber(thread:get(name)) or 0) end
    table.insert(counters, string.format('"%s":%d', name, total))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,' ..
    '"timeout":%d},"latency_us":{"p50":%d,"p90":%d,"p99":%d,"mean":%.1f,"max":%d},"counters":{%s}}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.mean, latency.max,
    table.concat(counters, ",")))
end
