-- wrk script for the Switchyard bench: POSTs one small chat completion per request and, when done,
-- prints one JSON line with latency percentiles in microseconds (wrk's own summary rounds them).
-- The body, an optional x-sim-fault header and an optional API key (sent as `Authorization: Bearer`)
-- come from the environment (BENCH_BODY, BENCH_FAULT, BENCH_KEY). The path is the URL's.

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("BENCH_BODY")
  or '{"model":"bench","messages":[{"role":"user","content":"Say hello to the bench."}],"max_tokens":16}'

local fault = os.getenv("BENCH_FAULT")
if fault ~= nil and fault ~= "" then
  wrk.headers["x-sim-fault"] = fault
end

local key = os.getenv("BENCH_KEY")
if key ~= nil and key ~= "" then
  wrk.headers["Authorization"] = "Bearer " .. key
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"p50":%.0f,"p90":%.0f,"p99":%.0f,"max":%.0f,"mean":%.1f}}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
