-- wrk script for every load run: GET PATH with a bearer token taken in rotation from TOKEN_FILE
-- (one token per line; "-" for no Authorization header). Requests are formatted once in init(), so the
-- per-request cost in the load generator is the same whatever the number of tokens.
--   wrk ... -s bench.lua URL -- PATH TOKEN_FILE
-- done() prints one line "WRKJSON {...}" that Benchmarks/gateway/run parses.

local threads_ = 0

function setup(thread)
  thread:set("thread_index", threads_)
  threads_ = threads_ + 1
end

local requests_ = {}
local next_ = 1

function init(args)
  local path = args[1] or "/api/data"
  local token_file = args[2] or "-"
  if token_file ~= "-" then
    for line in io.lines(token_file) do
      if #line > 0 then
        requests_[#requests_ + 1] = wrk.format("GET", path, { ["Authorization"] = "Bearer " .. line })
      end
    end
  end
  if #requests_ == 0 then
    requests_[1] = wrk.format("GET", path)
  end
  -- Threads start at different places in the rotation.
  next_ = ((thread_index or 0) * 997) % #requests_ + 1
end

function request()
  local r = requests_[next_]
  next_ = next_ + 1
  if next_ > #requests_ then next_ = 1 end
  return r
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect_errors":%d,"read_errors":%d,' ..
    '"write_errors":%d,"status_errors":%d,"timeouts":%d,"lat_p50_us":%d,"lat_p90_us":%d,' ..
    '"lat_p99_us":%d,"lat_p999_us":%d,"lat_mean_us":%.1f,"lat_max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    latency.mean, latency.max))
end
