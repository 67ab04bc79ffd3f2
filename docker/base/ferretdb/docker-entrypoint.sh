#!/usr/bin/env bash
# Entrypoint of the FerretDB stand-in (abc-pipeline). The official image's entrypoint is the
# ferretdb binary itself: `docker run IMAGE --handler=sqlite` passes flags to it, and so
# does this script. A command that is not a flag (`sh -c ...`, a smoke test) runs as given,
# which the official image, having no shell, cannot do.
set -e
if [ $# -eq 0 ] || [ "${1:0:1}" = '-' ] || [ "$1" = ping ]; then
	exec ferretdb "$@"
fi
exec "$@"
