"""A stand-in Pact Broker for the CI engines' pact-publish jobs (no broker is reachable here): the
two endpoints pact-publish calls, recording what it was sent."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Broker:
    """The index (which names the publish endpoint), the contracts published, and the
    can-i-deploy question (always yes), with every request recorded."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)

    def sent(self, path: str) -> list[dict[str, Any]]:
        return [request for request in self.requests if request["path"].startswith(path)]


@contextmanager
def serving(host: str = "127.0.0.1") -> Iterator[Broker]:
    """The broker listening on ``host`` (an address of this machine) at a free port."""
    recorded: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def answer(self, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/hal+json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def record(self, body: bytes) -> None:
            recorded.append({
                "path": self.path,
                "authorization": self.headers.get("Authorization"),
                "body": json.loads(body) if body else None,
            })  # fmt: skip

        def do_GET(self) -> None:
            self.record(b"")
            if self.path == "/":
                self.answer(
                    {"_links": {"pb:publish-contracts": {"href": f"{url}/contracts/publish"}}}
                )
            else:  # /matrix?...: can-i-deploy
                self.answer({"summary": {"deployable": True, "reason": "stand-in"}, "matrix": []})

        def do_POST(self) -> None:
            self.record(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
            self.answer({"_embedded": {"version": {"number": "1"}}, "logs": [], "_links": {}})

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer((host, 0), Handler)
    url = f"http://{host}:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Broker(url, recorded)
    finally:
        server.shutdown()
        server.server_close()
