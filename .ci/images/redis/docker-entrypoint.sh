#!/bin/sh
# Entrypoint of the local drop-in for the official redis image (see Dockerfile), with the same rules:
# arguments alone (`--save ""`) or a config file run redis-server with them; redis-server drops root;
# protected mode is turned off unless a given config file sets it, because without a config Redis only
# answers clients on loopback, and in a container every client comes from another address.
# Debian's /etc/redis/redis.conf is not used (it binds 127.0.0.1 and daemonises): with no config file
# redis-server listens on every address, as in the official image.
set -eu

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = 'redis-server' ] && [ "$(id -u)" = '0' ]; then
  find . \! -user redis -exec chown redis '{}' +
  # setpriv is in util-linux (always present): Debian minbase has no gosu.
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$1" = 'redis-server' ]; then
  protected=yes
  if [ $# -ge 2 ] && [ -f "$2" ] && grep -q '^protected-mode' "$2"; then
    protected=
  fi
  if [ -n "$protected" ]; then
    set -- "$@" --protected-mode no
  fi
fi

exec "$@"
