# The relay (`wxpub relay`) in a container, for museums whose IT runs containers:
#   docker build -t wxpub-relay .
#   docker run -v ./relay.toml:/etc/wxpub/relay.toml:ro --env-file relay.env -p 127.0.0.1:8971:8971 wxpub-relay
# relay.toml comes from a mount and must listen on the container's addresses
# (listen = "0.0.0.0:8971"); the AppIDs, AppSecrets and relay tokens come from the environment
# (never baked into the image). The operators' guide has a compose example.

# Build: a static musl binary (no libc to match at run time).
FROM rust:1.95-alpine AS build
# hadolint ignore=DL3018
RUN apk add --no-cache musl-dev
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin wxpub \
    && cp target/release/wxpub /usr/local/bin/wxpub

# Run: the binary and busybox (for the health check's wget), as a user without privileges.
FROM alpine:3.22
RUN adduser -D -H -u 10001 relay
COPY --from=build /usr/local/bin/wxpub /usr/local/bin/wxpub
USER 10001
EXPOSE 8971
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8971/healthz"]
ENTRYPOINT ["/usr/local/bin/wxpub", "relay"]
CMD ["--config", "/etc/wxpub/relay.toml"]
