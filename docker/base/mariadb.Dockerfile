# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled. Services written
# for MySQL get this image too, as the official one serves MySQL clients and drivers.
# image: mariadb:10.11
# default: no
# check: mariadbd --version | grep -q 'Ver 10\.11\.' && mariadb --version && mysql --version && id -u mysql | grep -qx 999 && test -x /usr/local/bin/healthcheck.sh
FROM abc-pipeline/debian:bookworm
# The official image's user (uid/gid 999) exists before the package would make its own.
# Debian's package initialises /var/lib/mysql at install time; the official image ships it
# empty (the entrypoint initialises it on first start), so it is emptied. Like the official
# image, the config's bind-address (127.0.0.1), log and user lines are commented out and
# host names are not looked up (the clients are other containers).
RUN groupadd --system --gid 999 mysql \
 && useradd --system --uid 999 --gid mysql --home-dir /var/lib/mysql --shell /bin/bash mysql \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gosu tzdata mariadb-server mariadb-client \
 && rm -rf /var/lib/apt/lists/* \
 && find /etc/mysql/ -name '*.cnf' -print0 | xargs -0 grep -lZE '^(bind-address|log|user\s)' \
      | xargs -r -0 sed -Ei 's/^(bind-address|log|user\s)/#&/' \
 && printf '[mariadb]\nhost-cache-size=0\nskip-name-resolve\n' > /etc/mysql/mariadb.conf.d/05-skipcache.cnf \
 && rm -rf /var/lib/mysql && mkdir -p /var/lib/mysql /run/mysqld /docker-entrypoint-initdb.d \
 && chown mysql:mysql /var/lib/mysql /run/mysqld && chmod 1777 /run/mysqld
COPY docker-entrypoint.sh healthcheck.sh /usr/local/bin/
RUN chmod 755 /usr/local/bin/docker-entrypoint.sh /usr/local/bin/healthcheck.sh
VOLUME /var/lib/mysql
# @extra-ca@
ENTRYPOINT ["docker-entrypoint.sh"]
EXPOSE 3306
CMD ["mariadbd"]
