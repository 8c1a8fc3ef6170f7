"""A drop-in for testcontainers' reaper (Ryuk), in the standard library only.

Written here because no image registry is reachable on the machines the template's CI runs on, so the
official `testcontainers/ryuk` image cannot be pulled; it keeps the behaviour testcontainers' clients
rely on (testcontainers-python 4.15 `core/container.py` class Reaper; the Go reaper's documented
settings):

- listens on TCP port RYUK_PORT (8080) and logs `<date> <time> Started!` once it does;
- a client sends filters, one per line, each in URL query form (`label=key=value`, several joined with
  `&`), ended by `\\n` or `\\r\\n`; every non-empty line is answered `ACK\\n`;
- once every connection has closed and none came back within RYUK_RECONNECTION_TIMEOUT (10s), or when
  no connection came at all within RYUK_CONNECTION_TIMEOUT (60s), it removes every container (forced,
  with its anonymous volumes), network, volume and image matching any filter, then exits. A resource
  created less than a second before that pass makes it wait another reconnection timeout instead (it
  may belong to a client that is still starting);
- SIGTERM/SIGINT: no new connections; the removal runs when the last client is gone, or after
  RYUK_SHUTDOWN_TIMEOUT (10m).

Durations use Go's format (`10s`, `1m30s`, `500ms`). The engine is reached through DOCKER_HOST
(default unix:///var/run/docker.sock, where testcontainers mounts the socket).
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import urllib.parse

ACK = b"ACK\n"
REAPER_LABEL = "org.testcontainers.ryuk"  # a reaper never removes a reaper
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def log(message: str) -> None:
    print(f"{time.strftime('%Y/%m/%d %H:%M:%S')} {message}", flush=True)


def go_duration(text: str) -> float:
    """Seconds in a Go duration string (`10s`, `1m30s`, `-1s`, `0`)."""
    text = text.strip()
    sign = -1.0 if text.startswith("-") else 1.0
    body = text.lstrip("+-")
    if body == "0":
        return 0.0
    parts = _DURATION_PART.findall(body)
    if not parts or "".join(number + unit for number, unit in parts) != body:
        raise ValueError(f"not a duration: {text!r}")
    return sign * sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def setting(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


class Config:
    def __init__(self) -> None:
        self.connection_timeout = go_duration(setting("RYUK_CONNECTION_TIMEOUT", "60s"))
        self.reconnection_timeout = go_duration(setting("RYUK_RECONNECTION_TIMEOUT", "10s"))
        self.request_timeout = go_duration(setting("RYUK_REQUEST_TIMEOUT", "10s"))
        self.shutdown_timeout = go_duration(setting("RYUK_SHUTDOWN_TIMEOUT", "10m"))
        self.retry_offset = go_duration(setting("RYUK_RETRY_OFFSET", "-1s"))
        self.remove_retries = int(setting("RYUK_REMOVE_RETRIES", "10"))
        self.port = int(setting("RYUK_PORT", "8080"))
        self.verbose = setting("RYUK_VERBOSE", "false").lower() in {"1", "true", "yes"}
        self.docker_host = setting("DOCKER_HOST", "unix:///var/run/docker.sock")


# --- the engine's API, over its socket ---------------------------------------------------------------


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.path)


class NotFound(Exception):
    pass


class Engine:
    def __init__(self, docker_host: str, timeout: float) -> None:
        self.url = urllib.parse.urlsplit(docker_host)
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self.url.scheme == "unix":
            return UnixHTTPConnection(self.url.path, self.timeout)
        if self.url.scheme == "tcp":
            return http.client.HTTPConnection(
                self.url.hostname or "localhost", self.url.port or 2375, timeout=self.timeout
            )
        raise ValueError(f"unsupported DOCKER_HOST {self.url.geturl()}")

    def call(self, method: str, path: str, **query: object) -> object:
        target = path + ("?" + urllib.parse.urlencode(query) if query else "")
        connection = self._connection()
        try:
            connection.request(method, target)
            response = connection.getresponse()
            body = response.read()
        finally:
            connection.close()
        if response.status == 404:
            raise NotFound(target)
        if response.status >= 400:
            raise RuntimeError(f"{method} {target}: {response.status} {body[:300]!r}")
        return json.loads(body) if body.strip().startswith((b"{", b"[")) else body.decode()


# --- what to remove ----------------------------------------------------------------------------------


def parse_filter(line: str) -> dict[str, list[str]]:
    """`label=a=b&label=c` -> {"label": ["a=b", "c"]} (the engine's filter form)."""
    args: dict[str, list[str]] = {}
    for key, value in urllib.parse.parse_qsl(line, keep_blank_values=True, strict_parsing=True):
        args.setdefault(key, [])
        if value not in args[key]:
            args[key].append(value)
    return {key: sorted(values) for key, values in sorted(args.items())}


def timestamp(text: str) -> float:
    """An RFC 3339 time as the engine writes it (nanoseconds, `Z`) -> seconds since the epoch."""
    text = re.sub(r"(\.\d{6})\d+", r"\1", text.strip()).replace("Z", "+00:00")
    return dt.datetime.fromisoformat(text).timestamp()


class ChangesDetected(Exception):
    pass


def affected(engine: Engine, filters: dict[str, list[str]], since: float) -> dict[str, list[str]]:
    """What matches the filters, by kind; ChangesDetected if any of it is newer than ``since``."""
    encoded = json.dumps(filters)
    found: dict[str, list[tuple[str, float]]] = {
        "container": [
            (item["Id"], float(item["Created"]))
            for item in engine.call("GET", "/containers/json", all=1, filters=encoded)
            if (item.get("Labels") or {}).get(REAPER_LABEL) != "true"
        ],
        "network": [
            (item["Id"], timestamp(item["Created"]))
            for item in engine.call("GET", "/networks", filters=encoded)
        ],
        "volume": [
            (item["Name"], timestamp(item["CreatedAt"]))
            for item in engine.call("GET", "/volumes", filters=encoded).get("Volumes") or []
        ],
        "image": [
            (item["Id"], float(item["Created"]))
            for item in engine.call("GET", "/images/json", filters=encoded)
        ],
    }
    for kind, items in found.items():
        for name, created in items:
            if created > since:
                raise ChangesDetected(f"{kind} {name} was created after the prune started")
    return {kind: [name for name, _ in items] for kind, items in found.items()}


REMOVE = {
    "container": lambda engine, name: engine.call("DELETE", f"/containers/{name}", force=1, v=1),
    "network": lambda engine, name: engine.call("DELETE", f"/networks/{name}"),
    "volume": lambda engine, name: engine.call("DELETE", f"/volumes/{name}", force=1),
    "image": lambda engine, name: engine.call("DELETE", f"/images/{name}", force=0),
}


def remove_all(engine: Engine, kind: str, names: list[str], retries: int) -> int:
    """Removes each one, retrying (a container being removed, a network still in use) up to
    ``retries`` passes a second apart; returns how many were removed."""
    todo, removed = list(dict.fromkeys(names)), 0
    for attempt in range(1, retries + 1):
        failed = []
        for name in todo:
            try:
                REMOVE[kind](engine, name)
                removed += 1
            except NotFound:
                pass
            except Exception as error:
                log(f"remove {kind} {name} (attempt {attempt}): {error}")
                failed.append(name)
        todo = failed
        if not todo:
            break
        if attempt < retries:
            time.sleep(1)
    if todo:
        log(f"left {len(todo)} {kind}(s): {', '.join(todo)}")
    return removed


# --- clients and the decision to prune ---------------------------------------------------------------


class Reaper:
    def __init__(self, config: Config, engine: Engine) -> None:
        self.config = config
        self.engine = engine
        self.filters: dict[str, dict[str, list[str]]] = {}
        self.clients = 0
        self.shutting_down = False
        self.closed = False
        self.deadline: float | None = time.monotonic() + config.connection_timeout
        self.changed = threading.Condition()
        self.listener = socket.create_server(("", config.port), backlog=64)

    def serve(self) -> None:
        while True:
            try:
                connection, address = self.listener.accept()
            except OSError:
                return  # the listener was closed: no new clients
            with self.changed:
                if self.closed:
                    # Closed without an ACK: the client retries and starts a reaper of its own.
                    connection.close()
                    continue
                self.clients += 1
                self.deadline = None
                log(f"New client connected: {address[0]}:{address[1]} (clients: {self.clients})")
            threading.Thread(target=self.handle, args=(connection, address), daemon=True).start()

    def handle(self, connection: socket.socket, address: tuple[str, int]) -> None:
        try:
            with connection, connection.makefile("rb") as lines:
                for raw in lines:
                    line = raw.decode("utf-8", "replace").strip()
                    if not line:
                        continue
                    self.add_filter(line)
                    connection.sendall(ACK)  # acknowledged even if unparsable, as Ryuk does
        except OSError as error:
            log(f"Client {address[0]}:{address[1]}: {error}")
        finally:
            with self.changed:
                self.clients -= 1
                log(f"Client disconnected: {address[0]}:{address[1]} (clients: {self.clients})")
                if self.clients == 0:
                    wait = 0.0 if self.shutting_down else self.config.reconnection_timeout
                    self.deadline = time.monotonic() + wait
                self.changed.notify_all()

    def add_filter(self, line: str) -> None:
        try:
            args = parse_filter(line)
        except ValueError as error:
            log(f"Invalid filter {line!r}: {error}")
            return
        key = json.dumps(args, sort_keys=True)
        with self.changed:
            if key not in self.filters:
                self.filters[key] = args
                log(f"Adding {key}")

    def shutdown(self, signum: int, _frame: object) -> None:
        log(f"Signal {signal.Signals(signum).name} received (clients: {self.clients})")
        with self.changed:
            self.shutting_down = True
            wait = self.config.shutdown_timeout if self.clients else 0.0
            self.deadline = time.monotonic() + wait
            self.changed.notify_all()

    def wait_for_prune(self) -> None:
        """Returns once it is time to prune, with the listener closed."""
        with self.changed:
            while True:
                now = time.monotonic()
                if self.deadline is not None and now >= self.deadline:
                    if self.clients == 0:
                        log("Timed out waiting for re-connection")
                    else:
                        log(f"Shutdown timeout with {self.clients} client(s) still connected")
                    break
                wait = None if self.deadline is None else self.deadline - now
                self.changed.wait(timeout=wait)
            self.closed = True
        self.listener.close()

    def prune(self) -> None:
        while True:
            since = time.time() + self.config.retry_offset
            try:
                resources = self.resources(since)
                break
            except ChangesDetected as error:
                # Something of a session is still being created: let it settle, then look again.
                log(f"Change detected, waiting again: {error}")
                time.sleep(self.config.reconnection_timeout)
        counts = {
            kind: remove_all(self.engine, kind, names, self.config.remove_retries)
            for kind, names in resources.items()  # containers first: they hold the rest
        }
        log(
            f"Removed {counts['container']} container(s), {counts['network']} network(s), "
            f"{counts['volume']} volume(s) {counts['image']} image(s)"
        )

    def resources(self, since: float) -> dict[str, list[str]]:
        merged: dict[str, list[str]] = {"container": [], "network": [], "volume": [], "image": []}
        for args in list(self.filters.values()):
            log(f"Deleting {json.dumps(args)}")
            for kind, names in affected(self.engine, args, since).items():
                merged[kind].extend(names)
        return merged


def main() -> int:
    config = Config()
    engine = Engine(config.docker_host, config.request_timeout)
    log("Pinging Docker...")
    try:
        engine.call("GET", "/_ping")
    except Exception as error:
        log(f"Docker is not available at {config.docker_host}: {error}")
        return 1
    log("Docker daemon is available!")
    reaper = Reaper(config, engine)
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, reaper.shutdown)
    log(
        f"Starting on port {config.port} (connection timeout {config.connection_timeout:g} s, "
        f"reconnection timeout {config.reconnection_timeout:g} s)..."
    )
    threading.Thread(target=reaper.serve, name="accept", daemon=True).start()
    log("Started!")
    reaper.wait_for_prune()
    reaper.prune()
    return 0


if __name__ == "__main__":
    sys.exit(main())
