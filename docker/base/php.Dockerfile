# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: php:8.2-cli-bookworm
# default: no
# check: php --version && php -m | grep -qi mbstring && php -m | grep -qi pdo_sqlite
FROM abc-pipeline/debian:bookworm
# The official image compiles mbstring, curl, xml, sqlite and friends into php; Debian
# splits them into packages.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates php8.2-cli php8.2-mbstring php8.2-xml \
      php8.2-curl php8.2-sqlite3 \
 && rm -rf /var/lib/apt/lists/*
# @extra-ca@
CMD ["php", "-a"]
