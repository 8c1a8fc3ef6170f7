"""A storefront's client of the orders API: the example consumer whose pact the service honours.

Standard library only, as a consumer in another repository would be free to be: it shares no code
with the service.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

Document = dict[str, Any]


class OrderNotFound(Exception):
    pass


@dataclass(frozen=True)
class StorefrontClient:
    base_url: str
    # What proves who the storefront is (its credentials), sent with every request.
    headers: dict[str, str] = field(default_factory=dict)
    timeout_seconds: float = 5.0

    def place(self, sku: str, quantity: int, **fields: str) -> Document:
        """Places an order (``fields``: whatever else the service needs, such as a price)."""
        return self._call("POST", "/orders", {"sku": sku, "quantity": quantity, **fields})

    def order(self, order_id: int) -> Document:
        return self._call("GET", f"/orders/{order_id}")

    def orders(self, limit: int) -> list[Document]:
        page = self._call("GET", f"/orders?limit={limit}")
        items: list[Document] = page["items"]
        return items

    def cancel(self, order_id: int) -> Document:
        return self._call("POST", f"/orders/{order_id}/cancel")

    def _call(self, method: str, path: str, body: Document | None = None) -> Document:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(  # noqa: S310 - the base URL is the caller's
            self.base_url + path,
            data=data,
            method=method,
            headers={
                **self.headers,
                "Accept": "application/json",
                **({"Content-Type": "application/json"} if data else {}),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:  # noqa: S310
                document: Document = json.loads(response.read())
                return document
        except urllib.error.HTTPError as error:
            if error.code == 404:
                raise OrderNotFound(path) from None
            raise
