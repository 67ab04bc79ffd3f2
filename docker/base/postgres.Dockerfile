# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: postgres:15-bookworm
# default: no
# check: postgres --version | grep -q ' 15\.' && psql --version && pg_isready --version && id -u postgres | grep -qx 999 && test -x /usr/local/bin/docker-entrypoint.sh
FROM abc-pipeline/debian:bookworm
# The official image's user (uid/gid 999) exists before the package would make its own.
# Debian's postgresql-common makes a `main` cluster at install time; the official image
# makes none (the entrypoint initialises $PGDATA on first start), so that is switched off.
# en_US.UTF-8 is the official image's locale: collation (ORDER BY on text) follows it.
RUN groupadd --system --gid 999 postgres \
 && useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
 && mkdir -p /var/lib/postgresql /etc/postgresql-common/createcluster.d \
 && chown postgres:postgres /var/lib/postgresql \
 && echo 'create_main_cluster = false' > /etc/postgresql-common/createcluster.d/abc-no-main.conf \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates locales gosu postgresql-15 postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/* \
 && echo 'en_US.UTF-8 UTF-8' > /etc/locale.gen && locale-gen \
 && sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" /usr/share/postgresql/15/postgresql.conf.sample \
 && grep -qF "listen_addresses = '*'" /usr/share/postgresql/15/postgresql.conf.sample \
 && mkdir -p /docker-entrypoint-initdb.d /var/run/postgresql \
 && chown postgres:postgres /var/run/postgresql && chmod 3777 /var/run/postgresql
COPY docker-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh
ENV LANG=en_US.utf8 PG_MAJOR=15 PGDATA=/var/lib/postgresql/data \
    PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
RUN mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 1777 "$PGDATA"
VOLUME /var/lib/postgresql/data
# @extra-ca@
ENTRYPOINT ["docker-entrypoint.sh"]
# The official image stops on SIGINT: PostgreSQL's "fast" shutdown.
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
