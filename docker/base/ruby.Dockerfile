# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian bookworm's own packages when that image cannot be pulled.
# image: ruby:3.1-slim-bookworm
# default: no
# check: ruby --version && gem --version && bundle --version
FROM abc-pipeline/debian:bookworm
ENV LANG=C.UTF-8
# Same gem layout as the official image: gems and bundler state under /usr/local/bundle.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates ruby ruby-bundler \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /usr/local/bundle && chmod 1777 /usr/local/bundle
ENV GEM_HOME=/usr/local/bundle BUNDLE_SILENCE_ROOT_WARNING=1 BUNDLE_APP_CONFIG=/usr/local/bundle \
    PATH=/usr/local/bundle/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# @extra-ca@
CMD ["irb"]
