# syntax=docker/dockerfile:1
# Build: a static, pure-Go binary (SQLite through modernc, no cgo).
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/hub ./cmd/hub \
 && mkdir -p /out/data /out/etc/tongdao \
 && echo 'tongdao:x:10001:10001:tongdao:/data:/sbin/nologin' > /out/passwd \
 && echo 'tongdao:x:10001:' > /out/group

# Run: nothing but the binary, CA certificates and a non-root user.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/passwd /etc/passwd
COPY --from=build /out/group /etc/group
COPY --from=build --chown=10001:10001 /out/data /data
COPY --from=build /out/hub /usr/local/bin/hub
USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# Mount the configuration at /etc/tongdao/hub.yaml (listen ":8080", dsn "/data/hub.db").
ENTRYPOINT ["/usr/local/bin/hub", "serve", "--config", "/etc/tongdao/hub.yaml"]
