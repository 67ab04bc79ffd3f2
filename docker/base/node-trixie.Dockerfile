# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian trixie's own packages when that image cannot be pulled.
# image: node:20-trixie-slim
# suite: trixie
# default: no
# check: node --version && npm --version && yarn --version && id node && test -f "$npm_config_nodedir/include/node/common.gypi"
FROM abc-pipeline/debian:trixie
# The official image has a `node` user (uid 1000) that many Dockerfiles switch to, and
# yarn 1 for repositories with a yarn.lock: trixie's yarnpkg is Yarn 4, which reads a
# classic lock file differently, so yarn 1 comes from npm (after the CA layer, below).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# @extra-ca@
RUN npm install -g --no-fund --no-audit yarn@1.22.22 && yarn --version
# node-gyp builds a native module (sqlite3, bcrypt) against Node's headers, which the
# official image ships under /usr/local and node-gyp otherwise downloads from nodejs.org
# (out of reach here): Debian's Node has them in /usr/include/node (libnode-dev).
ENV npm_config_nodedir=/usr
CMD ["node"]
