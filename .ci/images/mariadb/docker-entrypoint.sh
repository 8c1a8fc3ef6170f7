#!/usr/bin/env bash
# Entrypoint of the local drop-in for the official mariadb image (see Dockerfile).
# As root it only fixes ownership of the data directory and re-runs itself as mysql. On an empty data
# directory it initialises one with mariadb-install-db, starts a temporary server without networking
# (its log says "ready for connections" once), creates the accounts and database from the environment,
# runs /docker-entrypoint-initdb.d, stops it, then execs the real server (which says it a second time).
set -Eeuo pipefail

# `docker run img --some-option` means `mariadbd --some-option`, as in the official image.
if [ "${1:0:1}" = '-' ]; then
  set -- mariadbd "$@"
fi
case "$1" in mariadbd|mysqld) ;; *) exec "$@" ;; esac

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

if [ "$(id -u)" = '0' ]; then
  mkdir -p "$DATADIR" /run/mysqld
  chown mysql:mysql "$DATADIR" /run/mysqld
  # setpriv is in util-linux (always present): Debian minbase has no gosu.
  exec setpriv --reuid=mysql --regid=mysql --init-groups "$0" "$@"
fi

log() { printf '%s [Note] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; }
die() { printf '%s [ERROR] [Entrypoint]: %s\n' "$(date '+%F %T')" "$*" >&2; exit 1; }

# MARIADB_* win over MYSQL_*, as in the official image.
root_password=${MARIADB_ROOT_PASSWORD:-${MYSQL_ROOT_PASSWORD:-}}
allow_empty=${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}
random_root=${MARIADB_RANDOM_ROOT_PASSWORD:-${MYSQL_RANDOM_ROOT_PASSWORD:-}}
root_host=${MARIADB_ROOT_HOST:-${MYSQL_ROOT_HOST:-%}}
database=${MARIADB_DATABASE:-${MYSQL_DATABASE:-}}
user=${MARIADB_USER:-${MYSQL_USER:-}}
password=${MARIADB_PASSWORD:-${MYSQL_PASSWORD:-}}

# SQL string and identifier quoting, for passwords and names taken from the environment.
sql_str() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
# shellcheck disable=SC2016  # literal backticks
sql_id() { printf '`%s`' "${1//\`/\`\`}"; }

if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "$root_password" ] && [ -z "$allow_empty" ] && [ -z "$random_root" ]; then
    die 'database is uninitialized and password option is not specified: set MARIADB_ROOT_PASSWORD (or MYSQL_ROOT_PASSWORD), MARIADB_ALLOW_EMPTY_ROOT_PASSWORD or MARIADB_RANDOM_ROOT_PASSWORD'
  fi
  if [ "$user" = 'root' ]; then
    die 'MARIADB_USER="root": MARIADB_USER and MARIADB_PASSWORD are for a regular user; use MARIADB_ROOT_PASSWORD for root'
  fi
  if [ -n "$random_root" ] && [ -z "$root_password" ]; then
    root_password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
    log "GENERATED ROOT PASSWORD: $root_password"
  fi

  log 'initialising the data directory'
  mariadb-install-db --datadir="$DATADIR" --auth-root-authentication-method=normal --skip-test-db \
    --skip-name-resolve --skip-log-bin --expire-logs-days=0 \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 \
    >/dev/null

  # Without networking, so nothing can connect over TCP (testcontainers, healthcheck.sh --connect)
  # before the accounts exist; the user's server options are passed too, as the official image does.
  "$@" --skip-networking --socket="$SOCKET" --skip-log-bin --expire-logs-days=0 --skip-slave-start \
    --loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 &
  temp_pid=$!
  for _ in $(seq 1 300); do
    mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
    kill -0 "$temp_pid" 2>/dev/null || die 'temporary server failed to start'
    sleep 0.1
  done

  # A random password only for healthcheck.sh, kept in the data directory as the official image does.
  hc_password=$(tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true)
  printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$hc_password" \
    >"$DATADIR/.my-healthcheck.cnf"

  # shellcheck disable=SC2028  # the backslashes are SQL's, for the server, not echo's
  {
    echo "SET @@SESSION.SQL_MODE=REPLACE(@@SESSION.SQL_MODE, 'NO_BACKSLASH_ESCAPES', '');"
    echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1', ''@'localhost';"
    # Anonymous accounts would shadow the user's own account for local connections.
    echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS \\'\\'@\\'', @@hostname, '\\'');"
    echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname, '\\'');"
    echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD($(sql_str "$root_password"));"
    if [ "$root_host" != 'localhost' ]; then
      echo "CREATE USER 'root'@$(sql_str "$root_host") IDENTIFIED BY $(sql_str "$root_password");"
      echo "GRANT ALL ON *.* TO 'root'@$(sql_str "$root_host") WITH GRANT OPTION;"
      echo "GRANT PROXY ON ''@'%' TO 'root'@$(sql_str "$root_host") WITH GRANT OPTION;"
    fi
    for h in localhost 127.0.0.1 ::1; do
      echo "CREATE USER 'healthcheck'@'$h' IDENTIFIED BY '$hc_password';"
      echo "GRANT USAGE ON *.* TO 'healthcheck'@'$h';"
    done
    if [ -n "$database" ]; then
      echo "CREATE DATABASE IF NOT EXISTS $(sql_id "$database");"
    fi
    if [ -n "$user" ] && [ -n "$password" ]; then
      echo "CREATE USER $(sql_str "$user")@'%' IDENTIFIED BY $(sql_str "$password");"
      if [ -n "$database" ]; then
        echo "GRANT ALL ON $(sql_id "${database//_/\\_}").* TO $(sql_str "$user")@'%';"
      fi
    fi
  } | mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot

  client=(mariadb --no-defaults --protocol=socket --socket="$SOCKET" -uroot "-p$root_password")
  [ -n "$database" ] && client+=("$database")
  # shellcheck disable=SC1090  # sourcing the user's init scripts is the point
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    case "$f" in
      *.sh)     log "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql)    log "running $f"; "${client[@]}" <"$f" ;;
      *.sql.gz) log "running $f"; gunzip -c "$f" | "${client[@]}" ;;
      *.sql.xz) log "running $f"; xz -dc "$f" | "${client[@]}" ;;
      *)        log "ignoring $f" ;;
    esac
  done

  kill "$temp_pid"
  wait "$temp_pid" || true
  log 'MariaDB init process done. Ready for start up.'
fi

exec "$@"
