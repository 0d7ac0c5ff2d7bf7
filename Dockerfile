# syntax=docker/dockerfile:1
# dozvon container image (used by docker-compose.yml; docs/operations.md).
#
# Build: `docker build -t dozvon .` (BuildKit, the default of current Docker, for the cache
# mounts). Run: `docker run dozvon run --config /etc/dozvon/dozvon.toml` with a config mounted.

FROM rust:1.95-bookworm AS builder
# rdkafka-sys (default features: libz; no cmake-build, ssl, sasl or curl) builds the vendored
# librdkafka with its bash `configure` script and `make`, compiling C and the C++ wrapper
# (src-cpp): build-essential. libz-sys links zlib: zlib1g-dev + pkg-config. ring (rustls, the
# Schema Registry client) needs only the C compiler. No cmake, OpenSSL, perl or python needed.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential pkg-config zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY Cargo.toml Cargo.lock ./
COPY benches benches
COPY schemas schemas
COPY src src
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/build/target \
    cargo build --release --locked --bin dozvon \
    && cp target/release/dozvon /usr/local/bin/dozvon

FROM debian:bookworm-slim
# ca-certificates: TLS to brokers and the Schema Registry when configured.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 dozvon \
    && useradd --system --uid 10001 --gid dozvon --no-create-home --shell /usr/sbin/nologin dozvon
COPY --from=builder /usr/local/bin/dozvon /usr/local/bin/dozvon
COPY dozvon.example.toml /etc/dozvon/dozvon.example.toml
USER dozvon:dozvon
# /metrics, /healthz, /readyz ([http] listen).
EXPOSE 9464
ENTRYPOINT ["/usr/local/bin/dozvon"]
CMD ["run", "--config", "/etc/dozvon/dozvon.toml"]
