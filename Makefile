# The whole test suite: real Postgres and Redis on this machine (see README: Tests).
.PHONY: test run
test:
	go test -race -count=1 -timeout 15m ./...

run:
	go run ./cmd/shop
