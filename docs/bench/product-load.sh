#!/usr/bin/env bash
# The product-page load run of docs/benchmarks.md: the shop with its cache on and off, with
# SHOP_DB_LATENCY 0 and 50ms, each under the same Zipf-distributed load (docs/bench/zipf.lua).
# Needs a built shop (go build -o /tmp/shop ./cmd/shop), wrk, and the local Postgres and Redis.
set -euo pipefail
cd "$(dirname "$0")/../.."
db='postgres://postgres@127.0.0.1:5432/shop_bench?sslmode=disable'
SHOP_DATABASE_URL="$db" /tmp/shop seed --dataset online-retail --orders >/dev/null
for latency in 0 50ms; do
  for cache in on off; do
    redis-cli --scan --pattern 'bench:*' | xargs -r redis-cli del >/dev/null
    SHOP_ADDR=127.0.0.1:18081 SHOP_DATABASE_URL="$db" SHOP_REDIS_KEY_PREFIX=bench: SHOP_SEED=false \
      SHOP_CACHE=$cache SHOP_DB_LATENCY=$latency SHOP_LOG_LEVEL=warn /tmp/shop serve &
    pid=$!
    until curl -sf http://127.0.0.1:18081/readyz >/dev/null; do sleep 0.2; done
    wrk -t2 -c32 -d5s -s docs/bench/zipf.lua http://127.0.0.1:18081 >/dev/null   # warm-up
    echo "== cache=$cache latency=$latency"
    wrk -t2 -c32 -d15s --latency -s docs/bench/zipf.lua http://127.0.0.1:18081 | grep -E 'Requests/sec|50%|99%|Non-2xx'
    kill -INT $pid; wait $pid || true
  done
done
