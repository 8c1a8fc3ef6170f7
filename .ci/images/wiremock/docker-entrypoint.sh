#!/bin/bash
# Entrypoint of the local drop-in for the official wiremock/wiremock image (see Dockerfile), with its
# rules: no arguments, or arguments starting with "-", run WireMock with them; anything else runs as a
# command. WIREMOCK_OPTIONS is appended, as there.
set -euo pipefail

if [ "$#" -eq 0 ] || [ "${1:0:1}" = '-' ]; then
  # JAVA_OPTS is a list of words and the classpath wildcards are Java's own (quoted: not a shell glob).
  # shellcheck disable=SC2086
  set -- java ${JAVA_OPTS:-} -cp '/var/wiremock/lib/*:/var/wiremock/extensions/*' wiremock.Run "$@"
  # shellcheck disable=SC2086
  exec "$@" ${WIREMOCK_OPTIONS:-}
fi

exec "$@"
