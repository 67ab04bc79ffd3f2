# abc-pipeline base recipe: a local stand-in for the official image named below. MongoDB is
# not in Debian; FerretDB 1.x (Apache-2.0) speaks MongoDB's wire protocol on top of SQLite
# or PostgreSQL. It is built here from its source on the Go module proxy.
# image: ghcr.io/ferretdb/ferretdb:1.24.2
# default: no
# check: ferretdb --version | grep -q 'version: v1\.24\.2' && id -u ferretdb | grep -qx 1000
FROM abc-pipeline/debian:bookworm AS build
# FerretDB 1.24 needs Go 1.24: Debian's backported Go 1.23 fetches that toolchain from the
# module proxy (GOTOOLCHAIN names it; Debian's own default is to use only the local one).
RUN echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends -t bookworm-backports ca-certificates golang-1.23-go \
 && rm -rf /var/lib/apt/lists/*
# @extra-ca@
# FerretDB reads its version from a file its release process writes (build/version/
# version.txt, not in the module) and refuses to start without one. The module and build
# caches (about 1 GB) go with the step: this stage's layers stay behind as build cache.
ENV GOTOOLCHAIN=go1.24.3 GOPROXY=https://proxy.golang.org,direct GOPATH=/go CGO_ENABLED=0 \
    GOFLAGS="-trimpath -modcacherw"
RUN /usr/lib/go-1.23/bin/go mod download github.com/FerretDB/FerretDB@v1.24.2 \
 && cd '/go/pkg/mod/github.com/!ferret!d!b/!ferret!d!b@v1.24.2' \
 && echo v1.24.2 > build/version/version.txt \
 && /usr/lib/go-1.23/bin/go build -o /ferretdb ./cmd/ferretdb \
 && /ferretdb --version \
 && rm -rf /go /root/.cache

FROM abc-pipeline/debian:bookworm
RUN groupadd --gid 1000 ferretdb \
 && useradd --uid 1000 --gid ferretdb --home-dir /state --shell /usr/sbin/nologin ferretdb \
 && mkdir -p /state && chown ferretdb:ferretdb /state
COPY --from=build /ferretdb /usr/local/bin/ferretdb
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
# @extra-ca@
# The official image's defaults (MongoDB's port, the debug handler on 8080, state in
# /state); SQLite's databases go to /state too, which the non-root user owns. Telemetry
# is off: a sidecar has no business calling out. The backend stays the official default
# (PostgreSQL); FERRETDB_HANDLER=sqlite makes it stand alone.
ENV FERRETDB_LISTEN_ADDR=:27017 FERRETDB_DEBUG_ADDR=:8080 FERRETDB_STATE_DIR=/state \
    FERRETDB_SQLITE_URL=file:/state/ FERRETDB_TELEMETRY=disable
VOLUME /state
USER ferretdb
WORKDIR /state
EXPOSE 27017 8080
ENTRYPOINT ["docker-entrypoint.sh"]
