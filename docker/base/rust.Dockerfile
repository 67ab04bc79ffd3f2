# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: rust:1.63-slim-bookworm
# default: no
# check: rustc --version && cargo --version && gcc --version
FROM abc-pipeline/debian:bookworm
# The official rust image has a C toolchain for build scripts and *-sys crates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates rustc cargo gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/cargo && chmod 1777 /usr/local/cargo
ENV CARGO_HOME=/usr/local/cargo PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# @extra-ca@
