#!/usr/bin/env bash
# Entrypoint of the redis:7-bookworm stand-in, written for abc-pipeline after the documented
# behaviour of the official image (hub.docker.com/_/redis): `docker run redis:7-bookworm
# --appendonly yes` or `... /path/redis.conf --port 6380` run redis-server with those
# arguments, as the redis user, in /data; any other command runs as given.
set -e

# Arguments alone (an option, or a config file first) are redis-server's.
if [ "${1:0:1}" = '-' ] || [ "${1%.conf}" != "$1" ]; then
	set -- redis-server "$@"
fi
if [ "$1" != redis-server ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	# A fresh volume (or a bind mount) belongs to root: hand it to redis, then drop to it.
	find . \! -user redis -exec chown redis '{}' +
	exec gosu redis "${BASH_SOURCE[0]}" "$@"
fi

# The official image's redis-server is built with protected mode off: on a container
# network its clients are other hosts, and there is no password by default. Debian's keeps
# Redis' default (on), so it is turned off here as a default that a config file or a later
# argument still overrides.
shift
if [ $# -gt 0 ] && [ "${1:0:1}" != '-' ]; then
	# A config file comes first; one that includes it goes in its place, so its own
	# protected-mode line (if any) wins over this default.
	config=$(mktemp /tmp/redis-docker.XXXXXX.conf)
	printf 'protected-mode no\ninclude %s\n' "$(readlink -f "$1")" >"$config"
	shift
	set -- "$config" "$@"
else
	set -- --protected-mode no "$@"
fi

# Like the official image: files the server writes are its own unless asked otherwise.
if [ "$(umask)" = 0022 ]; then
	umask 0077
fi
exec redis-server "$@"
