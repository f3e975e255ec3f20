#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests and the benchmark, on a local port (never the system's 5432).
#   scripts/postgres.sh [start]   installs Debian's postgresql when missing (as root), starts the cluster, prints its URL
#   scripts/postgres.sh restart   restarts it (the fault tests use this), prints the URL
#   scripts/postgres.sh stop      stops it
# Settings: XL_PG_DIR (default /tmp/xl-logistics-pg), XL_PG_PORT (default: the port this folder's cluster was made
# with, else a free one; it is kept in $XL_PG_DIR/port). scripts/test gives every run its own folder and port.
# The server runs as a non-root user (``postgres`` when we are root); it listens on 127.0.0.1 only and trusts local
# connections, so it is for tests only.
set -euo pipefail
action=${1:-start}
dir=${XL_PG_DIR:-/tmp/xl-logistics-pg}
free_port() {
  "${PYTHON:-python3}" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
if [ -n "${XL_PG_PORT:-}" ]; then
  port=$XL_PG_PORT
elif [ -f "$dir/port" ]; then
  port=$(cat "$dir/port")
elif [ -f "$dir/data/PG_VERSION" ]; then
  port=54329  # a cluster made before the port was recorded
else
  port=$(free_port)
fi
url="postgresql://xl@127.0.0.1:${port}/xl_test"

bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bindir" ] || [ ! -x "$bindir/pg_ctl" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing PostgreSQL (Debian package postgresql) ..." >&2
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  else
    echo "PostgreSQL is not installed; please run: sudo apt-get install postgresql" >&2
    exit 2
  fi
fi

as_owner() {  # run a command as the cluster's owner (PostgreSQL refuses to run as root)
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

pgctl() { as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 "$@" >/dev/null; }

running() { as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; }

case "$action" in
  start|restart)
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres: "$dir"
      echo "$port" > "$dir/port"
      as_owner "$bindir/initdb" -D "$dir/data" -U xl -A trust -E UTF8 --no-locale >/dev/null
      cat >> "$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = 64MB
CONF
    fi
    if [ "$action" = restart ] && running; then
      pgctl -m fast restart
    elif ! running; then
      pgctl start
    fi
    if ! as_owner "$bindir/psql" -h 127.0.0.1 -p "$port" -U xl -d postgres -Atqc \
         "SELECT 1 FROM pg_database WHERE datname = 'xl_test'" | grep -q 1; then
      as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U xl xl_test
    fi
    echo "$url"
    ;;
  stop)
    if running; then pgctl -m fast stop; fi
    ;;
  *)
    echo "usage: scripts/postgres.sh [start|restart|stop]" >&2
    exit 2
    ;;
esac
