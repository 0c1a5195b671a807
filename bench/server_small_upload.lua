-- wrk script for bench/server.sh: POST /files with a 4 KiB body, a new name each request.
-- The bearer token comes from the SR_BENCH_TOKEN environment variable.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  body = string.rep("strongroom-4KiB-", 256) -- 16 bytes x 256 = 4096
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("SR_BENCH_TOKEN"),
    ["Content-Type"] = "application/octet-stream",
  }
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/files?name=small-" .. tid .. "-" .. counter .. ".bin", headers, body)
end
