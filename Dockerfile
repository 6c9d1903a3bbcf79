# agentci as a container image, for CI systems other than GitHub Actions:
#   docker build -t agentci .
#   docker run --rm -v "$PWD:/work" -w /work -e ANTHROPIC_API_KEY agentci daggie assist --dry-run
# Stage 1 builds a static musl binary (rustls, vendored libgit2 and OpenSSL); stage 2 is a minimal
# Alpine with only git and the CA certificates next to it.

FROM rust:1-alpine3.22 AS build
RUN apk add --no-cache build-base perl cmake linux-headers
WORKDIR /src
# Dependencies first, so that a source change does not rebuild them.
COPY Cargo.toml Cargo.lock ./
COPY benches benches
RUN mkdir -p src tests/it \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs tests/it/main.rs \
    && cargo build --release --locked --features vendored-openssl \
    && rm -rf src tests
COPY src src
COPY tests tests
COPY examples examples
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --features vendored-openssl \
    && strip target/release/agentci \
    && ./target/release/agentci --version

FROM alpine:3.22
RUN apk add --no-cache git ca-certificates \
    # Workspaces are bind-mounted with the host's owner: let git read them.
    && git config --system --add safe.directory '*'
COPY --from=build /src/target/release/agentci /usr/local/bin/agentci
ENTRYPOINT ["agentci"]
CMD ["--help"]
