#!/bin/sh
# Entrypoint of the local drop-in for the official rabbitmq image (see Dockerfile).
# RabbitMQ itself reads RABBITMQ_DEFAULT_USER/PASS/VHOST and RABBITMQ_NODE_PORT from the environment,
# so this only drops root and runs the server in the foreground. Debian's /usr/sbin/rabbitmq-server
# wrapper is bypassed because it sends all output to /var/log/rabbitmq/startup_log, not to docker logs.
set -eu

# `docker run img --some-arg` is not meaningful for rabbitmq-server; a bare command runs as given.
if [ "$1" = 'rabbitmq-server' ]; then
  shift
  set -- /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
  if [ "$(id -u)" = '0' ]; then
    # Volumes arrive root-owned; the node must write its database and cookie there.
    chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
    # setpriv is in util-linux (always present): Debian minbase has no gosu.
    set -- setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$@"
  fi
fi

exec "$@"
