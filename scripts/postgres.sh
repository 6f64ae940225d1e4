# Sourced by scripts/test.sh (bash): provides a throw-away PostgreSQL for the tests and
# exports COFFER_TEST_POSTGRES_DSN, unless that variable is already set (then it does
# nothing and the tests use that database).
#
# It installs Debian's postgresql package when no server binaries are found (root only),
# creates a cluster in a temporary directory owned by the postgres user (PostgreSQL
# refuses to run as root), starts it on a free port of 127.0.0.1 with fsync on, creates
# the database coffer_test, and stops and removes the cluster when the shell exits (its
# EXIT trap runs before the one the shell already had, which it keeps). Works without a
# terminal (CI=true, no stdin).
#
# By hand: source scripts/postgres.sh; go test ./internal/storage/postgres/

coffer_pg_log() { echo "postgres.sh: $*" >&2; }

coffer_pg_start() {
	local bin initdb_bin
	initdb_bin=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
	if [ -z "$initdb_bin" ]; then
		if [ "$(id -u)" -ne 0 ]; then
			coffer_pg_log "PostgreSQL server binaries not found and not root: cannot install them;" \
				"PostgreSQL tests will skip (install Debian's postgresql package, or set COFFER_TEST_POSTGRES_DSN)"
			return 0
		fi
		coffer_pg_log "installing PostgreSQL (apt-get) …"
		local t0=$SECONDS
		if ! { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
			DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends postgresql </dev/null; } >/dev/null; then
			coffer_pg_log "apt-get install postgresql failed"
			return 1
		fi
		coffer_pg_log "installed PostgreSQL in $((SECONDS - t0))s"
		initdb_bin=$(ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -1 || true)
		if [ -z "$initdb_bin" ]; then
			coffer_pg_log "postgresql installed, but no /usr/lib/postgresql/*/bin/initdb"
			return 1
		fi
	fi
	bin=$(dirname "$initdb_bin")

	# Run the server as postgres; as another non-root user, as that user.
	local -a as=()
	if [ "$(id -u)" -eq 0 ]; then
		if ! id postgres >/dev/null 2>&1; then
			coffer_pg_log "no postgres user to run the server as (the postgresql package creates it)"
			return 1
		fi
		as=(runuser -u postgres --)
	fi

	COFFER_PG_DIR=$(mktemp -d /tmp/coffer-pg.XXXXXX) || return 1
	mkdir -p "$COFFER_PG_DIR/data" "$COFFER_PG_DIR/sock" || return 1
	if [ "$(id -u)" -eq 0 ]; then
		chown -R postgres: "$COFFER_PG_DIR" || return 1
	fi

	# initdb --no-sync: the cluster is thrown away, so its creation need not survive a
	# crash; the server then runs with fsync on, so commits cost what they cost in production.
	local t0=$SECONDS
	if ! "${as[@]}" "$bin/initdb" -D "$COFFER_PG_DIR/data" -A trust -U postgres -E UTF8 --no-locale --no-sync \
		>"$COFFER_PG_DIR/initdb.log" 2>&1 </dev/null; then
		coffer_pg_log "initdb failed:"
		cat "$COFFER_PG_DIR/initdb.log" >&2
		return 1
	fi

	# A free port: a random one that nothing listens on yet; pg_ctl start fails at once if
	# another process binds it first, and then the next one is tried.
	local port tries
	for tries in 1 2 3 4 5 6 7 8; do
		port=$((20000 + RANDOM % 30000))
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			port=
			continue
		fi
		if "${as[@]}" "$bin/pg_ctl" -D "$COFFER_PG_DIR/data" -l "$COFFER_PG_DIR/server.log" -w -t 60 \
			-o "-p $port -k $COFFER_PG_DIR/sock -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=300" \
			start >/dev/null 2>&1 </dev/null; then
			break
		fi
		port=
	done
	if [ -z "$port" ]; then
		coffer_pg_log "pg_ctl start failed:"
		tail -20 "$COFFER_PG_DIR/server.log" >&2
		return 1
	fi
	COFFER_PG_BIN=$bin
	COFFER_PG_AS="${as[*]}"
	if ! "$bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres \
		-c 'CREATE DATABASE coffer_test' </dev/null >/dev/null; then
		coffer_pg_log "CREATE DATABASE coffer_test failed"
		return 1
	fi
	export COFFER_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:$port/coffer_test?sslmode=disable"
	echo "postgres.sh: PostgreSQL $("$bin/postgres" -V | awk '{print $3}') runs on 127.0.0.1:$port" \
		"(data $COFFER_PG_DIR/data, started in $((SECONDS - t0))s, stopped on exit);" \
		"COFFER_TEST_POSTGRES_DSN=$COFFER_TEST_POSTGRES_DSN"
}

# coffer_pg_stop stops the throw-away server at once and removes its directory.
coffer_pg_stop() {
	[ -n "${COFFER_PG_DIR:-}" ] || return 0
	if [ -n "${COFFER_PG_BIN:-}" ] && [ -f "$COFFER_PG_DIR/data/postmaster.pid" ]; then
		# shellcheck disable=SC2086 # COFFER_PG_AS is a word list
		$COFFER_PG_AS "$COFFER_PG_BIN/pg_ctl" -D "$COFFER_PG_DIR/data" -m immediate -w stop \
			>/dev/null 2>&1 </dev/null || true
	fi
	rm -rf "$COFFER_PG_DIR"
	COFFER_PG_DIR=
}

if [ -z "${COFFER_TEST_POSTGRES_DSN:-}" ]; then
	# Stop the server when the shell exits, before whatever EXIT trap the caller already
	# has (test.sh removes its log): chain to it rather than replace it. Registered before
	# the start, so that a failed start is cleaned up too.
	coffer_pg_prev_trap=$(trap -p EXIT) # trap -- 'command' EXIT, or nothing
	if [ -n "$coffer_pg_prev_trap" ]; then
		coffer_pg_trap_command() { coffer_pg_prev_trap=$3; }
		eval "coffer_pg_trap_command $coffer_pg_prev_trap"
		trap "coffer_pg_stop; $coffer_pg_prev_trap" EXIT
	else
		trap coffer_pg_stop EXIT
	fi
	unset coffer_pg_prev_trap
	if ! coffer_pg_start; then
		coffer_pg_stop
		coffer_pg_log "no throw-away PostgreSQL: the tests cannot run against PostgreSQL"
		return 1 2>/dev/null || exit 1
	fi
fi
