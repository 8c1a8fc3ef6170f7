#!/usr/bin/env bash
# Entrypoint of the local drop-in for the official postgres image (see Dockerfile).
# Starts as root only to fix ownership of PGDATA (tmpfs and bind mounts arrive root-owned), then re-runs
# itself as postgres; on an empty PGDATA it initialises the cluster from POSTGRES_* with a temporary,
# socket-only server, then execs the real server with the command's arguments.
set -Eeuo pipefail

# `docker run img -c fsync=off` means `postgres -c fsync=off`, as in the official image.
if [ "${1:0:1}" = '-' ]; then
  set -- postgres "$@"
fi

if [ "$1" != 'postgres' ]; then
  exec "$@"
fi

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$PGDATA"
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 0700 "$PGDATA"
  # setpriv is in util-linux (always present): no gosu package in Debian minbase.
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_PASSWORD:=}"
: "${POSTGRES_HOST_AUTH_METHOD:=scram-sha-256}"
: "${POSTGRES_INITDB_ARGS:=}"

log() { printf '%s [entrypoint] %s\n' "$(date -u '+%F %T UTC')" "$*" >&2; }

psql_init() { psql -v ON_ERROR_STOP=1 --no-password --no-psqlrc --username "$POSTGRES_USER" "$@"; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != 'trust' ]; then
    # Same refusal as the official image: a passwordless superuser reachable from other hosts.
    log 'error: database is uninitialized and POSTGRES_PASSWORD is not set (or set POSTGRES_HOST_AUTH_METHOD=trust)'
    exit 1
  fi
  log "initialising $PGDATA for user $POSTGRES_USER, database $POSTGRES_DB"
  # --no-sync: a test container's cluster is disposable; syncing every new file costs ~1 s of start-up.
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of words, as in the official image
  initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "$POSTGRES_PASSWORD") \
    --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host="$POSTGRES_HOST_AUTH_METHOD" \
    --no-sync $POSTGRES_INITDB_ARGS >/dev/null
  {
    echo
    echo '# from the container entrypoint: password auth from any host, as in the official image'
    echo "host all all all $POSTGRES_HOST_AUTH_METHOD"
  } >>"$PGDATA/pg_hba.conf"
  echo "listen_addresses = '*'" >>"$PGDATA/postgresql.conf"

  # Socket-only (listen_addresses=''): nothing on 127.0.0.1:5432 until the real server runs, so a TCP
  # readiness probe (testcontainers' psql --host 127.0.0.1, pg_isready -h) cannot pass too early.
  pg_ctl --pgdata="$PGDATA" --wait --silent -o "-c listen_addresses='' -p 5432" start
  if [ "$POSTGRES_DB" != 'postgres' ]; then
    psql_init --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >/dev/null
  fi
  # shellcheck disable=SC1090  # sourcing the user's init scripts is the point
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)     log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql)    log "running $f"; psql_init --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | psql_init --dbname "$POSTGRES_DB" ;;
      *)        log "ignoring $f" ;;
    esac
  done
  pg_ctl --pgdata="$PGDATA" --wait --silent -m fast stop
  log 'initialisation done; starting the server'
fi

exec "$@"
