#!/bin/sh
# Entrypoint of the local drop-in for the official docker:dind image (see Dockerfile), with its rules
# for a TLS-less engine: no arguments, or arguments that are all options, run dockerd with them,
# listening on the local socket and on every address at 2375.
#
# Where the official engine pulls what its jobs start from a registry (or the mirror its command
# names), none is reachable here: image archives mounted under /preload (`docker save` output) are
# loaded first, by the same dockerd listening on its local socket only, so that the TCP port, which
# a CI runner waits for, opens once they are there.
set -eu

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  if ls /preload/*.tar >/dev/null 2>&1; then
    dockerd --host=unix:///var/run/docker.sock "$@" >/var/log/dockerd-preload.log 2>&1 &
    pid=$!
    tries=0
    # The job's variables reach a CI service too: DOCKER_HOST names this engine's TCP address.
    local_engine=unix:///var/run/docker.sock
    until docker --host="$local_engine" version >/dev/null 2>&1; do
      tries=$((tries + 1))
      [ "$tries" -le 120 ] || { cat /var/log/dockerd-preload.log >&2; exit 1; }
      sleep 0.5
    done
    for archive in /preload/*.tar; do docker --host="$local_engine" load --quiet --input "$archive"; done
    kill "$pid"
    wait "$pid" || true
  fi
  set -- dockerd --host=unix:///var/run/docker.sock --host=tcp://0.0.0.0:2375 "$@"
fi

exec "$@"
