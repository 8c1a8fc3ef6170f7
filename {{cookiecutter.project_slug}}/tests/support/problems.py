"""Every error leaves the service as an RFC 9457 problem: one assertion for every layer that
calls the app in process."""

from __future__ import annotations

import json
from http import HTTPStatus
from typing import Any

from werkzeug.http import HTTP_STATUS_CODES
from werkzeug.test import TestResponse

from .api import order_body

PROBLEM_JSON = "application/problem+json"
# The reason phrases RFC 9110 renamed. Python follows it from 3.13 on; werkzeug, whose errors the
# service answers with their own names, does not yet.
RFC_9110_PHRASES = {413: "Content Too Large", 422: "Unprocessable Content"}


def titles_for(status: int) -> set[str]:
    """The titles an ``about:blank`` problem may have: its status's reason phrase (RFC 9457), as
    werkzeug, this Python or RFC 9110 names it."""
    phrase = HTTPStatus(status).phrase
    return {HTTP_STATUS_CODES.get(status, phrase), phrase, RFC_9110_PHRASES.get(status, phrase)}


def assert_problem(response: TestResponse, status: int) -> dict[str, Any]:
    """Asserts ``response`` is a problem with ``status``, its reason phrase as the title and a
    detail saying what went wrong (every problem the service answers has one); returns its
    members."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM_JSON
    problem: dict[str, Any] = response.get_json()
    assert problem["type"] == "about:blank"
    assert problem["status"] == status
    assert problem["title"] in titles_for(status), problem
    assert isinstance(problem.get("detail"), str), problem
    assert problem["detail"] != problem["title"], problem
    return problem


VALID = json.dumps(order_body())
TOO_LARGE = json.dumps({**order_body(), "note": "x" * (64 * 1024)})


def sent(data: str | bytes, content_type: str = "application/json") -> dict[str, Any]:
    return {"data": data, "content_type": content_type}


def keyed(key: str) -> dict[str, Any]:
    return {"json": order_body(), "headers": {"Idempotency-Key": key}}


Case = tuple[str, str, str, dict[str, Any], int]  # id, method, path, request options, status

# Requests to an operation the service has, which it turns down.
REJECTED_BY_AN_OPERATION: list[Case] = [
    ("malformed JSON", "POST", "/orders", sent('{"sku": '), 400),
    ("JSON array", "POST", "/orders", {"json": [order_body()]}, 400),
    ("JSON string", "POST", "/orders", {"json": "SKU-1"}, 400),
    ("JSON null", "POST", "/orders", sent("null"), 400),
    ("JSON nested too deep", "POST", "/orders", sent("[" * 30000 + "]" * 30000), 400),
    ("not UTF-8", "POST", "/orders", sent(b"\xff\xfe{"), 400),
    ("empty body", "POST", "/orders", sent(""), 400),
    ("empty idempotency key", "POST", "/orders", keyed(""), 400),
    ("idempotency key too long", "POST", "/orders", keyed("k" * 65), 400),
    ("text/plain", "POST", "/orders", sent(VALID, "text/plain"), 415),
    ("form", "POST", "/orders", {"data": {"sku": "SKU-1"}}, 415),
    ("no content type", "POST", "/orders", {"data": VALID}, 415),
    ("body too large", "POST", "/orders", sent(TOO_LARGE), 413),
    ("invalid fields", "POST", "/orders", {"json": {"sku": ""}}, 422),
    ("invalid page", "GET", "/orders?limit=0", {}, 422),
    ("page after an id beyond any database", "GET", f"/orders?after={2**64}", {}, 422),
    ("unknown order", "GET", "/orders/999", {}, 404),
    ("cancel unknown order", "POST", "/orders/999/cancel", {}, 404),
    ("id beyond any database", "GET", f"/orders/{2**64}", {}, 404),
    ("cancel an id beyond any database", "POST", f"/orders/{2**64}/cancel", {}, 404),
]

# Requests that match no operation.
REJECTED_BY_ROUTING: list[Case] = [
    ("id not a number", "GET", "/orders/abc", {}, 404),
    ("unknown path", "GET", "/nowhere", {}, 404),
    ("delete an order", "DELETE", "/orders/1", {}, 405),
    ("replace the collection", "PUT", "/orders", {"json": order_body()}, 405),
    ("read a cancel", "GET", "/orders/1/cancel", {}, 405),
]
