# abc-pipeline base recipe: a local stand-in for the official image named below, built
# from Debian trixie's own packages when that image cannot be pulled.
# image: python:3.13-slim-trixie
# suite: trixie
# default: no
# check: python --version && python3 --version && pip --version && python -m venv --help >/dev/null
FROM abc-pipeline/debian:trixie
ENV LANG=C.UTF-8
# python-is-python3 gives `python`; python3-venv makes `python -m venv` work as in the
# official image. Debian marks its python "externally managed" (PEP 668): the official
# image does not, so the marker goes and PIP_BREAK_SYSTEM_PACKAGES covers pip's own check.
# The /usr/local/bin links match the official image's paths, which some Dockerfiles use.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-pip python3-venv python-is-python3 \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /usr/lib/python3*/EXTERNALLY-MANAGED \
 && ln -sf /usr/bin/python3 /usr/local/bin/python3 \
 && ln -sf /usr/bin/python3 /usr/local/bin/python \
 && ln -sf /usr/bin/pip3 /usr/local/bin/pip3 \
 && ln -sf /usr/bin/pip3 /usr/local/bin/pip
ENV PIP_BREAK_SYSTEM_PACKAGES=1
# @extra-ca@
CMD ["python3"]
