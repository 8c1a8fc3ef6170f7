#!/bin/sh
# Entrypoint of the local drop-in for the official docker:dind image (see Dockerfile), with its rules
# for a TLS-less engine: no arguments, or arguments that are all options, run dockerd with them,
# listening on the local socket and on every address at 2375.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
fi

exec "$@"
