# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: node:18-bookworm-slim
# default: yes
# check: node --version && npm --version && yarn --version && id node && test -f "$npm_config_nodedir/include/node/common.gypi"
FROM abc-pipeline/debian:bookworm
# The official image has a `node` user (uid 1000) that many Dockerfiles switch to, and
# yarn 1 (Debian calls it yarnpkg) for repositories with a yarn.lock.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates nodejs npm yarnpkg \
 && rm -rf /var/lib/apt/lists/* \
 && ln -s /usr/bin/yarnpkg /usr/local/bin/yarn \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
# @extra-ca@
# node-gyp builds a native module (sqlite3, bcrypt) against Node's headers, which the
# official image ships under /usr/local and node-gyp otherwise downloads from nodejs.org
# (out of reach here): Debian's Node has them in /usr/include/node (libnode-dev).
ENV npm_config_nodedir=/usr
CMD ["node"]
