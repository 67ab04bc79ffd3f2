#!/usr/bin/env bash
# Entrypoint of the mariadb:10.11 stand-in, written for abc-pipeline after the documented
# contract of the official image (hub.docker.com/_/mariadb, "Environment Variables" and
# "Initializing the database contents"). Each MARIADB_X may be given as MYSQL_X, and as
# X_FILE (Docker secrets):
#   MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD (MYSQL_ALLOW_EMPTY_PASSWORD),
#   MARIADB_RANDOM_ROOT_PASSWORD, MARIADB_ROOT_HOST (default %), MARIADB_DATABASE,
#   MARIADB_USER and MARIADB_PASSWORD (all privileges on that database, from any host),
#   MARIADB_INITDB_SKIP_TZINFO; on first start the data folder is initialised, then
#   /docker-entrypoint-initdb.d/*.sh, *.sql, *.sql.gz, *.sql.xz run once, in name order,
#   against a server with no TCP listener.
set -Eeo pipefail
shopt -s nullglob

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%F %T UTC')" "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# MARIADB_<name> from MARIADB_<name>, MYSQL_<name> or either's _FILE; exported.
mariadb_env() {
	local name=$1 default=${2:-} legacy=${3:-$1}
	local var value=$default found=""
	for var in "MARIADB_$name" "MYSQL_$legacy"; do
		local file_var="${var}_FILE"
		if [ -n "${!var:-}" ] && [ -n "${!file_var:-}" ]; then
			die "both $var and $file_var are set, but they are exclusive"
		fi
		if [ -z "$found" ] && [ -n "${!var:-}" ]; then
			value=${!var} found=$var
		elif [ -z "$found" ] && [ -n "${!file_var:-}" ]; then
			value=$(<"${!file_var}") found=$file_var
		fi
		unset "$file_var"
	done
	export "MARIADB_$name=$value"
}

# A string as an SQL literal's contents (backslashes and quotes escaped) and a name as an
# identifier's (backticks doubled).
sql_string() {
	local s=${1//\\/\\\\}
	printf '%s' "${s//\'/\\\'}"
}
sql_name() { printf '%s' "${1//\`/\`\`}"; }

# `docker run mariadb:10.11 --character-set-server=utf8mb4` means the server with options.
if [ "${1:0:1}" = '-' ]; then
	set -- mariadbd "$@"
fi
if [ "$1" != mariadbd ] && [ "$1" != mysqld ]; then
	exec "$@"
fi

if [ "$(id -u)" = 0 ]; then
	# A fresh volume (or a bind mount) belongs to root: hand it to mysql, then drop to it.
	mkdir -p /var/lib/mysql /run/mysqld
	chown mysql:mysql /run/mysqld
	find /var/lib/mysql \! -user mysql -exec chown mysql:mysql '{}' +
	exec gosu mysql "${BASH_SOURCE[0]}" "$@"
fi

server=$1
shift # the server's own arguments stay in "$@"
# Where this server keeps its data and listens, after its config files and arguments.
datadir=$("$server" "$@" --verbose --help 2>/dev/null | awk '$1 == "datadir" { print $2; exit }')
port=$("$server" "$@" --verbose --help 2>/dev/null | awk '$1 == "port" { print $2; exit }')
datadir=${datadir:-/var/lib/mysql/}
port=${port:-3306}

mariadb_env ROOT_PASSWORD
mariadb_env ALLOW_EMPTY_ROOT_PASSWORD "" ALLOW_EMPTY_PASSWORD
mariadb_env RANDOM_ROOT_PASSWORD
mariadb_env ROOT_HOST %
mariadb_env DATABASE
mariadb_env USER
mariadb_env PASSWORD
mariadb_env INITDB_SKIP_TZINFO

if [ ! -d "$datadir/mysql" ]; then
	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] &&
		[ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		die "the database is uninitialized and a root password option is not specified: set one of" \
			"MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD" \
			"(or their MYSQL_ names)"
	fi
	if [ "$MARIADB_USER" = root ]; then
		die "MARIADB_USER=root: the root user is already made; set MARIADB_ROOT_PASSWORD instead"
	fi
	if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then
		log "warning: MARIADB_USER is set without MARIADB_PASSWORD: $MARIADB_USER gets an empty password"
	fi
	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || :)
		export MARIADB_ROOT_PASSWORD
		log "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi

	log "initialising the data folder $datadir"
	mkdir -p "$datadir"
	mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal --skip-test-db \
		--default-time-zone=SYSTEM --skip-log-bin --expire-logs-days=0 \
		--loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 \
		"$@" >/dev/null

	# The init scripts run against a server with networking off and its socket in a private
	# folder: neither another host nor a health check sees a server until they are all done.
	# The scripts' own clients find that socket in a ~/.my.cnf read after Debian's
	# /etc/mysql/my.cnf (whose [client] socket would win over MYSQL_UNIX_PORT alone).
	init_dir=$(mktemp -d /tmp/mariadb-init.XXXXXX)
	export MYSQL_UNIX_PORT=$init_dir/mysqld.sock
	home=${HOME:-}
	export HOME=$init_dir
	printf '[client]\nsocket=%s\n' "$MYSQL_UNIX_PORT" >"$HOME/.my.cnf"
	"$server" "$@" --skip-networking --socket="$MYSQL_UNIX_PORT" --pid-file="$init_dir/mysqld.pid" \
		--default-time-zone=SYSTEM --wsrep_on=OFF --skip-log-bin --expire-logs-days=0 --skip-slave-start \
		--loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
	server_pid=$!
	as_root=(mariadb --no-defaults --protocol=socket --user=root)
	for _ in $(seq 60); do
		if "${as_root[@]}" --execute='SELECT 1' >/dev/null 2>&1; then
			break
		fi
		kill -0 "$server_pid" 2>/dev/null || die "the temporary server stopped while starting"
		sleep 1
	done
	"${as_root[@]}" --execute='SELECT 1' >/dev/null || die "the temporary server did not answer in 60 s"

	if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ]; then
		# Named time zones (CONVERT_TZ, SET time_zone = 'Europe/Paris') as in the official image.
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | "${as_root[@]}" mysql
	fi

	# A user only the health check uses, its password in the data folder (as the official
	# image's .my-healthcheck.cnf), so `healthcheck.sh --innodb_initialized` can sign in.
	health_password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || :)
	root_password=$(sql_string "$MARIADB_ROOT_PASSWORD")
	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		echo "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
		echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
		printf '%s\n' "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');"
		for host in localhost 127.0.0.1 ::1; do
			echo "CREATE USER 'healthcheck'@'$host' IDENTIFIED BY '$health_password';"
		done
		if [ -n "$MARIADB_ROOT_HOST" ] && [ "$MARIADB_ROOT_HOST" != localhost ]; then
			root_host=$(sql_string "$MARIADB_ROOT_HOST")
			echo "CREATE USER 'root'@'$root_host' IDENTIFIED BY '$root_password';"
			echo "GRANT ALL ON *.* TO 'root'@'$root_host' WITH GRANT OPTION;"
			echo "GRANT PROXY ON ''@'%' TO 'root'@'$root_host' WITH GRANT OPTION;"
		fi
		if [ -n "$MARIADB_DATABASE" ]; then
			echo "CREATE DATABASE IF NOT EXISTS \`$(sql_name "$MARIADB_DATABASE")\`;"
		fi
		if [ -n "$MARIADB_USER" ]; then
			user=$(sql_string "$MARIADB_USER")
			echo "CREATE USER '$user'@'%' IDENTIFIED BY '$(sql_string "$MARIADB_PASSWORD")';"
			if [ -n "$MARIADB_DATABASE" ]; then
				echo "GRANT ALL ON \`$(sql_name "$MARIADB_DATABASE")\`.* TO '$user'@'%';"
			fi
		fi
		# Last: every statement above ran as root without a password.
		echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD('$root_password');"
	} | "${as_root[@]}" --database=mysql
	umask 077
	printf '[mariadb-client]\nport=%s\nuser=healthcheck\npassword=%s\n' "$port" "$health_password" \
		>"$datadir/.my-healthcheck.cnf"
	umask 022

	export MYSQL_PWD=$MARIADB_ROOT_PASSWORD
	run_sql=(mariadb --no-defaults --protocol=socket --user=root)
	if [ -n "$MARIADB_DATABASE" ]; then
		run_sql+=(--database="$MARIADB_DATABASE")
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
			"${run_sql[@]}" <"$file"
			;;
		*.sql.gz)
			log "running $file"
			gunzip -c "$file" | "${run_sql[@]}"
			;;
		*.sql.xz)
			log "running $file"
			xzcat "$file" | "${run_sql[@]}"
			;;
		*) log "ignoring $file" ;;
		esac
	done
	unset MYSQL_PWD

	kill "$server_pid"
	wait "$server_pid" || die "the temporary server did not stop cleanly"
	rm -rf "$init_dir"
	unset MYSQL_UNIX_PORT
	export HOME=$home
	log "MariaDB init process done. Ready for start up."
fi

exec "$server" "$@"
