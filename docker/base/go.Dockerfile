# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: golang:1.19-bookworm
# default: no
# check: go version && git --version && gcc --version
FROM abc-pipeline/debian:bookworm
# The official golang image is buildpack-deps based: git and a C toolchain for cgo.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates golang-1.19-go git gcc libc6-dev make pkg-config \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/go-1.19 /usr/local/go \
 && mkdir -p /go/src /go/bin && chmod -R 1777 /go
ENV GOPATH=/go PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
# @extra-ca@
