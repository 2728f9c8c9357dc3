#!/usr/bin/env bash
# Starts (or stops) a throwaway redis-server and PostgreSQL on loopback, for
# the tests that run the concept store on them. Installs the Debian packages
# when missing. `start` prints the variables the tests read, as exports:
#   eval "$(bash .ci/services.sh start)"   ...   bash .ci/services.sh stop
# Nothing is kept: the servers' files live in MYVLM_SERVICES_DIR and go at stop.
set -euo pipefail

DIR="${MYVLM_SERVICES_DIR:-${TMPDIR:-/tmp}/myvlm-services}"
REDIS_PORT="${MYVLM_TEST_REDIS_PORT:-6391}"
PG_PORT="${MYVLM_TEST_POSTGRES_PORT:-5441}"
PG_USER=myvlm
PG_DB=myvlm_test

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi

install_missing() {
  local wanted=()
  command -v redis-server >/dev/null || wanted+=(redis-server)
  compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || wanted+=(postgresql)
  if [ "${#wanted[@]}" -gt 0 ]; then
    echo "installing ${wanted[*]}" >&2
    $sudo apt-get update -qq >&2
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${wanted[@]}" >&2
  fi
}

pg_bin() {
  ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1
}

# PostgreSQL refuses to run as root: as root, it runs as the `postgres` user the Debian package creates.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  install_missing
  stop_servers quietly
  rm -rf "$DIR"
  mkdir -p "$DIR/redis" "$DIR/pg"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --dir "$DIR/redis" \
    --pidfile "$DIR/redis/redis.pid" --logfile "$DIR/redis/redis.log" --save '' --appendonly no >&2

  if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DIR/pg"; fi
  local bin
  bin="$(pg_bin)"
  as_pg "$bin/initdb" -D "$DIR/pg/data" -U "$PG_USER" --auth=trust -E UTF8 >"$DIR/pg/initdb.log" 2>&1 ||
    { cat "$DIR/pg/initdb.log" >&2; exit 1; }
  as_pg "$bin/pg_ctl" -D "$DIR/pg/data" -l "$DIR/pg/server.log" -w \
    -o "-p $PG_PORT -k $DIR/pg -c listen_addresses=127.0.0.1 -c fsync=off" start >&2 ||
    { cat "$DIR/pg/server.log" >&2; exit 1; }
  as_pg "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" "$PG_DB" >&2

  # Both must answer, or the server-backed tests would not run: fail here instead.
  for _ in $(seq 50); do
    if redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then break; fi
    sleep 0.1
  done
  redis-cli -p "$REDIS_PORT" ping | grep -q PONG || { echo "redis-server did not start" >&2; exit 1; }
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || { echo "PostgreSQL did not start" >&2; exit 1; }

  cat <<VARS
export MYVLM_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
export MYVLM_TEST_POSTGRES_URL=postgres://$PG_USER@127.0.0.1:$PG_PORT/$PG_DB
export MYVLM_TEST_POSTGRES_DATA=$DIR/pg/data
VARS
}

stop_servers() {
  if [ -f "$DIR/redis/redis.pid" ]; then
    redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || kill "$(cat "$DIR/redis/redis.pid")" 2>/dev/null || true
  fi
  if [ -f "$DIR/pg/data/postmaster.pid" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$DIR/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  if [ "${1:-}" != quietly ]; then rm -rf "$DIR"; fi
}

case "${1:-}" in
  start) start ;;
  stop) stop_servers ;;
  *)
    echo "usage: bash .ci/services.sh start|stop" >&2
    exit 2
    ;;
esac
