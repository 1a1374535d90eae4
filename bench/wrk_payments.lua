-- wrk script: POST /payments with valid, distinct bodies; prints a JSON summary line.
-- Each request gets its own payer id (thread id + counter), so no two bodies are the same.
local counter = 0
local thread_id = 0
local threads = {}
local get_mode = false

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

-- `-- GET` after the URL: plain GET requests (the /healthz baseline) with the same summary.
function init(args)
  thread_id = id
  get_mode = args[1] == "GET"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  if get_mode then
    return wrk.format("GET", nil, {}, nil)
  end
  counter = counter + 1
  local body = string.format(
    '{"payer_id":"bench_%d_%d","payee_id":"bench_payee_%d","amount":"%d.%02d","currency":"EUR","description":"bench"}',
    thread_id, counter, counter % 1000, 1 + counter % 500, counter % 100)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"errors":%d,"status_errors":%d,' ..
    '"p50_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, errors, summary.errors.status,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
