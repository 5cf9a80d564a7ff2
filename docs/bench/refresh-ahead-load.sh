#!/usr/bin/env bash
# The refresh-ahead load run of docs/benchmarks.md: one shop, Postgres 50 ms away, product
# pages only (ids from shop load's Zipf fit of the order history), a product TTL short enough
# (10 s, near cache 2 s) that the hot products expire several times in the run; refresh-ahead
# off (beta 0) and on (beta 1). Prints the product pages' figures from shop load's summary and
# the shop's reloads from /metrics.
# Needs a built shop (go build -o /tmp/shop ./cmd/shop), jq, and the local Postgres and Redis;
# ADDR, DB and PREFIX may be overridden.
set -euo pipefail
cd "$(dirname "$0")/../.."
addr=${ADDR:-127.0.0.1:18081} metrics=${METRICS:-127.0.0.1:18082}
db=${DB:-postgres://postgres@127.0.0.1:5432/shop_bench?sslmode=disable} prefix=${PREFIX:-bench:}
shop=${SHOP:-/tmp/shop} out=${OUT:-/tmp/refresh-ahead-load}
for beta in 0 1; do
  redis-cli --scan --pattern "${prefix}*" | xargs -r redis-cli del >/dev/null
  SHOP_ADDR=$addr SHOP_METRICS_ADDR=$metrics SHOP_DATABASE_URL="$db" SHOP_REDIS_KEY_PREFIX=$prefix \
    SHOP_DB_LATENCY=50ms SHOP_TTL_PRODUCT=10s SHOP_L1_TTL=2s SHOP_REFRESH_AHEAD_BETA=$beta \
    SHOP_LOG_LEVEL=error "$shop" serve &
  pid=$!
  until curl -sf "http://$addr/readyz" >/dev/null; do sleep 0.2; done
  "$shop" load -target "http://$addr" -rate 300 -duration 60s -users 1 \
    -browse 0 -search 0 -signin 0 -cart 0 -checkout 0 -product 100 -out "$out/beta$beta" >/dev/null
  echo "== beta=$beta"
  jq -c '.kinds.product' "$out/beta$beta/summary.json"
  curl -s "http://$metrics/metrics" | grep -E '^shop_cache_(refreshes_total|loads_total|requests_total)\{cache="product"'
  kill -INT $pid; wait $pid || true
done
