#!/usr/bin/env bash
# The near-cache modes run of docs/benchmarks.md: the same product-page load (shop load's
# Zipf fit of the order history, as fast as 32 workers go, 30 s) against one shop with
# SHOP_NEAR_CACHE=pubsub and then tracking, while a second instance runs beside it and an
# UPDATE of a product's price every 50 ms in Postgres keeps invalidations coming. Prints the
# load's product figures, the near-cache hits and reads from /metrics, and the shop's RSS.
# Needs a built shop (go build -o /tmp/shop ./cmd/shop), jq, psql, and the local Postgres and
# Redis; ADDR, ADDR2, METRICS, DB, PREFIX, SHOP and OUT may be overridden.
set -euo pipefail
cd "$(dirname "$0")/../.."
addr=${ADDR:-127.0.0.1:18081} addr2=${ADDR2:-127.0.0.1:18083} metrics=${METRICS:-127.0.0.1:18082}
db=${DB:-postgres://postgres@127.0.0.1:5432/shop_bench?sslmode=disable} prefix=${PREFIX:-bench:}
shop=${SHOP:-/tmp/shop} out=${OUT:-/tmp/near-modes}
for mode in pubsub tracking; do
  redis-cli --scan --pattern "${prefix}*" | xargs -r redis-cli del >/dev/null
  env="SHOP_DATABASE_URL=$db SHOP_REDIS_KEY_PREFIX=$prefix SHOP_NEAR_CACHE=$mode SHOP_LOG_LEVEL=error"
  env $env SHOP_ADDR=$addr SHOP_METRICS_ADDR=$metrics "$shop" serve & pid=$!
  env $env SHOP_ADDR=$addr2 SHOP_METRICS_ADDR=off "$shop" serve & pid2=$!
  until curl -sf "http://$addr/readyz" >/dev/null && curl -sf "http://$addr2/readyz" >/dev/null; do sleep 0.2; done
  (while sleep 0.05; do psql -q "$db" -c "UPDATE products SET price = price + 1 - 2 * (price % 2) WHERE id = (1 + floor(random() * 50))::int" >/dev/null; done) & writer=$!
  "$shop" load -target "http://$addr" -rate 0 -workers 32 -duration 30s -users 1 \
    -browse 0 -search 0 -signin 0 -cart 0 -checkout 0 -product 100 -out "$out/$mode" >/dev/null
  kill $writer; wait $writer 2>/dev/null || true
  echo "== SHOP_NEAR_CACHE=$mode"
  jq -c '{rps: .throughput} + (.kinds.product | {count, p50_ms: .latency_ms.p50, p99_ms: .latency_ms.p99, x_cache, hit_ratio})' "$out/$mode/summary.json"
  curl -s "http://$metrics/metrics" | grep -E '^shop_cache_requests_total\{cache="product"'
  grep -E '^VmRSS' /proc/$pid/status
  kill -INT $pid $pid2; wait $pid $pid2 || true
done
