#!/usr/bin/env bash
# Subset of the official mariadb image's healthcheck.sh, so compose files written for that image work:
#   healthcheck.sh --connect --innodb_initialized   (also: --innodb_buffer_pool_loaded; --su-mysql and
#   --su=mysql are accepted and ignored). Every test given must pass.
# It logs in as the `healthcheck` user whose password the entrypoint wrote to the data directory.
#   --connect             the real server answers (the temporary init server has skip_networking=1)
#   --innodb_initialized  InnoDB is up
set -euo pipefail

cnf=/var/lib/mysql/.my-healthcheck.cnf
[ -r "$cnf" ] || { echo "healthcheck.sh: $cnf missing (not initialised by this image?)" >&2; exit 1; }

query() { mariadb --defaults-extra-file="$cnf" --skip-column-names --batch -e "$1"; }

[ $# -gt 0 ] || set -- --connect
for arg in "$@"; do
  case "$arg" in
    --connect)
      [ "$(query 'SELECT @@skip_networking')" = 0 ] ;;
    --innodb_initialized)
      [ "$(query "SELECT 1 FROM information_schema.ENGINES WHERE engine='innodb' AND support IN ('YES','DEFAULT','ENABLED')")" = 1 ] ;;
    --innodb_buffer_pool_loaded)
      query "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='Innodb_buffer_pool_load_status'" \
        | grep -q '^Buffer pool(s) load completed' ;;
    --su-mysql|--su=*) ;;
    *) echo "healthcheck.sh: unsupported option $arg" >&2; exit 2 ;;
  esac
done
