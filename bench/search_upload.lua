-- wrk script for bench/search.sh: POST /files with a 4 KiB text body (words the content index
-- extracts), a new name each request. The bearer token comes from SR_BENCH_TOKEN.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  counter = 0
  local words = {}
  for i = 1, 512 do
    words[i] = string.format("word%03d", (i * 37) % 997) -- 8 bytes x 512 = 4096
  end
  body = table.concat(words, " ") .. " "
  body = string.sub(body, 1, 4096)
  headers = {
    ["Authorization"] = "Bearer " .. os.getenv("SR_BENCH_TOKEN"),
    ["Content-Type"] = "text/plain",
  }
end

function request()
  counter = counter + 1
  return wrk.format("POST", "/files?name=note-" .. tid .. "-" .. counter .. ".txt", headers, body)
end
