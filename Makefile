# The whole test suite: real Postgres and Redis on this machine (see README: Test it).
# -artifacts keeps what tests save (the browser test's screenshot) under _artifacts/.
.PHONY: test run chaos bench
test:
	go test -race -count=1 -timeout 15m -artifacts ./...

run:
	go run ./cmd/shop

# Test databases are dropped by the tests that make them; templates are kept for the next
# run (one per schema version). This drops them all, and any left by an interrupted run.
.PHONY: testdb-clean
testdb-clean:
	psql -h 127.0.0.1 -U postgres -d test -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'shop\_t%'" | \
		xargs -r -I{} psql -h 127.0.0.1 -U postgres -d test -c 'DROP DATABASE IF EXISTS "{}" WITH (FORCE)'

# The chaos suite, full version (docs/resilience.md): real shop processes, their own Redis and
# Postgres, one fault at a time under load; about 20 minutes; rewrites the table in
# docs/resilience.md. `make test` runs its short version.
chaos:
	go test -tags chaos -count=1 -run '^TestChaos$$' -v -timeout 60m ./cmd/shop

# Issue 15's measured table: Go benchmarks, the near-cache load test, round trips, the Zipf
# load with the cache on and off (shop load) and memory after a first start, written into
# docs/benchmarks.md with docs/benchmarks-cache.svg. Runs a shop on BENCH_ADDR with Redis keys
# under BENCH_PREFIX and the database BENCH_DB (dropped and seeded again). Takes ~3 minutes;
# run it on a quiet machine.
BENCH_ADDR ?= 127.0.0.1:18081
BENCH_PREFIX ?= bench:
BENCH_DB ?= shop_bench
bench:
	go run ./internal/cmd/bench -addr $(BENCH_ADDR) -prefix $(BENCH_PREFIX) -db $(BENCH_DB)
