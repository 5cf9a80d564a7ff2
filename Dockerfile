# syntax=docker/dockerfile:1
# Multi-stage build: a static shop binary on a small Alpine base, run as a non-root user.
FROM golang:1.26.8-alpine AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/shop ./cmd/shop

FROM alpine:3.22.2
RUN apk add --no-cache ca-certificates && adduser -D -H -u 10001 shop
COPY --from=build /out/shop /usr/local/bin/shop
USER shop
EXPOSE 8080
ENV SHOP_ADDR=:8080
ENTRYPOINT ["/usr/local/bin/shop"]
CMD ["serve"]
