#!/usr/bin/env bash
# Health check of the mariadb:10.11 stand-in, written for abc-pipeline with the same name
# and the same two tests as the official image's healthcheck.sh:
#   --connect             the server accepts a TCP connection (a refused sign-in still counts:
#                         during initialisation there is no TCP listener at all);
#   --innodb_initialized  InnoDB is up, asked as the `healthcheck` user whose credentials the
#                         entrypoint wrote to <datadir>/.my-healthcheck.cnf.
# Options of the official script that change who runs it (--su-mysql, --su=...) are accepted
# and ignored: both tests work as any user. Exit 0 when every test given passes.
set -uo pipefail

datadir=/var/lib/mysql
defaults=()
tests=()
for arg in "$@"; do
	case "$arg" in
	--connect | --innodb_initialized) tests+=("${arg#--}") ;;
	--su-mysql | --su=*) ;;
	--datadir=*) datadir=${arg#--datadir=} ;;
	--defaults-file=* | --defaults-extra-file=*) defaults=("$arg") ;;
	*)
		echo "healthcheck.sh: $arg is not supported by this stand-in (use --connect, --innodb_initialized)" >&2
		exit 2
		;;
	esac
done
if [ "${#tests[@]}" -eq 0 ]; then
	echo "healthcheck.sh: name a test: --connect or --innodb_initialized" >&2
	exit 2
fi
if [ "${#defaults[@]}" -eq 0 ] && [ -r "$datadir/.my-healthcheck.cnf" ]; then
	defaults=("--defaults-extra-file=$datadir/.my-healthcheck.cnf")
fi
port=$(sed -n 's/^port=//p' "$datadir/.my-healthcheck.cnf" 2>/dev/null)
port=${port:-3306}

for test in "${tests[@]}"; do
	case "$test" in
	connect)
		# "Can't connect" is the client's message when nothing accepts the connection.
		# The healthcheck user's credentials keep the server's log free of refused sign-ins.
		who=("${defaults[@]}")
		[ "${#who[@]}" -eq 0 ] && who=(--no-defaults --user=healthcheck)
		output=$(mariadb "${who[@]}" --host=127.0.0.1 --port="$port" --protocol=tcp --connect-timeout=2 \
			--execute='SELECT 1' 2>&1)
		if grep -qF "Can't connect" <<<"$output"; then
			echo "healthcheck.sh: --connect: nothing accepts TCP connections on port $port" >&2
			exit 1
		fi
		;;
	innodb_initialized)
		answer=$(mariadb "${defaults[@]}" --host=127.0.0.1 --protocol=tcp --connect-timeout=2 \
			--skip-column-names --execute="SELECT 1 FROM information_schema.ENGINES \
				WHERE engine = 'innodb' AND support IN ('YES', 'DEFAULT', 'ENABLED')" 2>&1)
		if [ "$answer" != 1 ]; then
			echo "healthcheck.sh: --innodb_initialized: $answer" >&2
			exit 1
		fi
		;;
	esac
done
exit 0
