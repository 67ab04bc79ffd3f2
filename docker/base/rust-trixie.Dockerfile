# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian trixie's own packages when that image cannot be pulled. Its cargo (1.85)
# reads crates.io's sparse index over HTTPS; bookworm's 1.63 knows only the git index.
# image: rust:1.85-slim-trixie
# suite: trixie
# default: no
# check: rustc --version && cargo --version && gcc --version
FROM abc-pipeline/debian:trixie
# The official rust image has a C toolchain for build scripts and *-sys crates.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates rustc cargo gcc libc6-dev \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/cargo && chmod 1777 /usr/local/cargo
# cargo's HTTP client is told the system bundle explicitly: the extra-CA layer extends it.
ENV CARGO_HOME=/usr/local/cargo CARGO_REGISTRIES_CRATES_IO_PROTOCOL=sparse \
    CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt \
    PATH=/usr/local/cargo/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# @extra-ca@
