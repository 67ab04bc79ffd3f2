# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian trixie's own packages when that image cannot be pulled.
# image: golang:1.24-trixie
# suite: trixie
# default: no
# check: go version && go env GOPROXY GOTOOLCHAIN && git --version && gcc --version
FROM abc-pipeline/debian:trixie
# The official golang image is buildpack-deps based: git and a C toolchain for cgo.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates golang-1.24-go git gcc libc6-dev make pkg-config \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/lib/go-1.24 /usr/local/go \
 && mkdir -p /go/src /go/bin && chmod -R 1777 /go
# As in the official image: the image's own Go unless a Dockerfile asks for another
# (GOTOOLCHAIN=auto fetches the one go.mod names from the module proxy). Modules come
# from the proxy and are checked against the checksum database; Go reads the system CA
# bundle, which the extra-CA layer extends.
ENV GOPATH=/go GOTOOLCHAIN=local GOPROXY=https://proxy.golang.org,direct GOSUMDB=sum.golang.org \
    PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
WORKDIR /go
# @extra-ca@
