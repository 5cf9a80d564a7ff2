-- wrk script: GET /products/{id} with ids drawn from a Zipf distribution (s = 1) over the
-- real catalog's 4,070 ids, which the online-retail seed numbers by popularity (id 1 is the
-- most ordered product). Usage: wrk -t2 -c32 -d15s -s docs/bench/zipf.lua http://host:port
local n, s = 4070, 1.0
local cdf = {}

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
  local total = 0
  for k = 1, n do total = total + 1 / k ^ s end
  local acc = 0
  for k = 1, n do
    acc = acc + (1 / k ^ s) / total
    cdf[k] = acc
  end
end

local function draw()
  local u = math.random()
  local lo, hi = 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return lo
end

function request()
  return wrk.format("GET", "/products/" .. draw())
end
