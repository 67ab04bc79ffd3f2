# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: redis:7-bookworm
# default: no
# check: redis-server --version | grep -q ' v=7\.' && redis-cli --version && id -u redis | grep -qx 999 && test -x /usr/local/bin/docker-entrypoint.sh
FROM abc-pipeline/debian:bookworm
# The official image's user (uid/gid 999) exists before the package would make its own.
# Only the server and redis-cli: Debian's redis meta-package and its config are not used,
# the official image runs redis-server with its built-in defaults and no config file.
RUN groupadd --system --gid 999 redis \
 && useradd --system --uid 999 --gid redis --home-dir /data --shell /usr/sbin/nologin redis \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gosu redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown redis:redis /data
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
VOLUME /data
WORKDIR /data
# @extra-ca@
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 6379
CMD ["redis-server"]
