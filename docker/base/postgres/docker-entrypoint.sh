#!/usr/bin/env bash
# Entrypoint of the postgres:15-bookworm stand-in, written for abc-pipeline after the
# documented contract of the official image (hub.docker.com/_/postgres, "Environment
# Variables" and "Initialization scripts"):
#   POSTGRES_PASSWORD (required unless POSTGRES_HOST_AUTH_METHOD=trust), POSTGRES_USER
#   (default postgres), POSTGRES_DB (default the user), POSTGRES_INITDB_ARGS,
#   POSTGRES_INITDB_WALDIR, POSTGRES_HOST_AUTH_METHOD, PGDATA, and VAR_FILE for each;
#   on first start the cluster is made, then /docker-entrypoint-initdb.d/*.sh, *.sql,
#   *.sql.gz, *.sql.xz run once, in name order, against a server no other host can reach.
set -Eeo pipefail
shopt -s nullglob

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%F %T UTC')" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# VAR from $VAR or from the file named by $VAR_FILE (Docker secrets), never both.
from_env_or_file() {
	local var=$1 default=${2:-}
	local file_var="${var}_FILE"
	if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
		die "both $var and $file_var are set, but they are exclusive"
	fi
	local value=$default
	if [ -n "${!var:-}" ]; then
		value=${!var}
	elif [ -n "${!file_var:-}" ]; then
		value=$(<"${!file_var}")
	fi
	export "$var=$value"
	unset "$file_var"
}

# `docker run postgres:15-bookworm -c shared_buffers=64MB` means the server with options.
if [ "${1:0:1}" = '-' ]; then
	set -- postgres "$@"
fi
if [ "$1" != postgres ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	# A fresh volume (or a bind mount) belongs to root: hand it to postgres, then drop to it.
	mkdir -p "$PGDATA" /var/run/postgresql
	chown postgres:postgres "$PGDATA" /var/run/postgresql
	chmod 700 "$PGDATA"
	chmod 3775 /var/run/postgresql
	exec gosu postgres "${BASH_SOURCE[0]}" "$@"
fi

shift # the server's own arguments stay in "$@"
from_env_or_file POSTGRES_PASSWORD
from_env_or_file POSTGRES_USER postgres
from_env_or_file POSTGRES_DB "$POSTGRES_USER"
from_env_or_file POSTGRES_INITDB_ARGS
export POSTGRES_HOST_AUTH_METHOD=${POSTGRES_HOST_AUTH_METHOD:-}

if [ ! -s "$PGDATA/PG_VERSION" ]; then
	if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
		die "the database is uninitialized and the superuser password is not specified: set" \
			"POSTGRES_PASSWORD to a non-empty value (or POSTGRES_HOST_AUTH_METHOD=trust to allow" \
			"every connection without a password, which is not recommended)"
	fi
	mkdir -p "$PGDATA"
	chmod 700 "$PGDATA" 2>/dev/null || :

	log "initialising the cluster in $PGDATA"
	initdb_args=(--username="$POSTGRES_USER")
	# A file only the postgres user reads, gone once initdb has read it (a process
	# substitution's descriptor would be closed by the time initdb opens it).
	pwfile=$(mktemp /tmp/pg-pw.XXXXXX)
	trap 'rm -f "$pwfile"' EXIT
	if [ -n "$POSTGRES_PASSWORD" ]; then
		printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
		initdb_args+=(--pwfile="$pwfile")
	fi
	if [ -n "${POSTGRES_INITDB_WALDIR:-}" ]; then
		initdb_args+=(--waldir="$POSTGRES_INITDB_WALDIR")
	fi
	# Like the official image, the extra arguments are shell words ("--data-checksums -E UTF8").
	eval 'initdb "${initdb_args[@]}" '"$POSTGRES_INITDB_ARGS"
	rm -f "$pwfile"
	trap - EXIT

	# Other hosts sign in with a password, hashed as the server hashes it (scram-sha-256
	# unless the server's arguments say otherwise); local socket connections keep initdb's trust.
	auth=${POSTGRES_HOST_AUTH_METHOD:-$(postgres -C password_encryption "$@")}
	printf '\nhost all all all %s\n' "$auth" >>"$PGDATA/pg_hba.conf"
	[ "$auth" = trust ] && log "warning: POSTGRES_HOST_AUTH_METHOD=trust lets any host in without a password"

	# The init scripts run against a server with no TCP listener and its socket in a private
	# folder: neither another host nor pg_isready sees a server until they are all done.
	init_socket=$(mktemp -d /tmp/pg-init.XXXXXX)
	export PGHOST=$init_socket PGPORT=${PGPORT:-5432} PGUSER=$POSTGRES_USER PGPASSWORD=$POSTGRES_PASSWORD
	pg_ctl -D "$PGDATA" -w start \
		-o "$(printf '%q ' "$@" -c listen_addresses= -c unix_socket_directories="$init_socket" -p "$PGPORT")"

	run_psql=(psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER")
	if [ "$POSTGRES_DB" != postgres ]; then
		exists=$("${run_psql[@]}" --dbname postgres --set db="$POSTGRES_DB" --tuples-only --no-align <<-'SQL'
			SELECT 1 FROM pg_database WHERE datname = :'db' ;
		SQL
		)
		if [ -z "$exists" ]; then
			"${run_psql[@]}" --dbname postgres --set db="$POSTGRES_DB" <<-'SQL'
				CREATE DATABASE :"db" ;
			SQL
		fi
	fi

	for file in /docker-entrypoint-initdb.d/*; do
		case "$file" in
		*.sh)
			if [ -x "$file" ]; then
				log "running $file"
				"$file"
			else
				log "sourcing $file"
				# shellcheck disable=SC1090
				. "$file"
			fi
			;;
		*.sql)
			log "running $file"
			"${run_psql[@]}" --dbname "$POSTGRES_DB" -f "$file"
			;;
		*.sql.gz)
			log "running $file"
			gunzip -c "$file" | "${run_psql[@]}" --dbname "$POSTGRES_DB"
			;;
		*.sql.xz)
			log "running $file"
			xzcat "$file" | "${run_psql[@]}" --dbname "$POSTGRES_DB"
			;;
		*) log "ignoring $file" ;;
		esac
	done

	pg_ctl -D "$PGDATA" -m fast -w stop
	rm -rf "$init_socket"
	unset PGHOST PGPORT PGUSER PGPASSWORD
	log "PostgreSQL init process complete; ready for start up."
else
	log "PostgreSQL Database directory appears to contain a database; Skipping initialization"
fi

exec postgres "$@"
