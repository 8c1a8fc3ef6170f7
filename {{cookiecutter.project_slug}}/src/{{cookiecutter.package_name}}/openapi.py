"""The OpenAPI 3.1 document of the service, served at ``/openapi.json``.

Request and response schemas come from the pydantic models that validate the requests and make
the responses, so the document cannot drift from what the service accepts and answers; the unit
tests check it lists every route and every rejection, and the contract layer (schemathesis) checks
the running service against it.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Response, current_app, jsonify
from pydantic import BaseModel
from werkzeug.routing import Rule

from . import wiring
from .access import public
from .schemas import OrderOut, OrderPageOut, PageQuery, StatusChangeOut

bp = Blueprint("openapi", __name__)
# JSON quoting keeps any name a valid literal; the formatter would prefer other quotes for some.
TITLE = {{ cookiecutter.project_name | tojson }}  # fmt: skip
VERSION = {{ cookiecutter.version | tojson }}


REF = "#/components/schemas/{model}"
# Every operation that reads or writes the database answers 503 while it is unreachable.
DATABASE_DOWN = "The database (or another dependency) is unavailable"


def _json(schema_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=schema_ref)}}}


def problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": REF.format(model="Problem")}}},
    }


ORDER_ID = {
    "name": "order_id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}
LOCATION = {"Location": {"description": "The order's URL", "schema": {"type": "string"}}}
# From a new order to what a client does next with it (followed by stateful API tests).
ORDER_LINKS = {
    "GetOrder": {"operationId": "getOrder", "parameters": {"order_id": "$response.body#/id"}},
    "CancelOrder": {
        "operationId": "cancelOrder",
        "parameters": {"order_id": "$response.body#/id"},
    },
}

PROBLEM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "title", "status"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
RESPONSE_MODELS: tuple[type[BaseModel], ...] = (OrderOut, OrderPageOut, StatusChangeOut)


def schemas(request_model: type[BaseModel]) -> dict[str, Any]:
    """The components: the models that validate requests and make responses, and the problem."""
    found: dict[str, Any] = {
        "NewOrder": request_model.model_json_schema(ref_template=REF),
        "Problem": PROBLEM_SCHEMA,
    }
    for model in RESPONSE_MODELS:
        schema = model.model_json_schema(mode="serialization", ref_template=REF)
        found.update(schema.pop("$defs", {}))
        found[model.__name__] = schema
    return found


def _create_order(problems: dict[int, str]) -> dict[str, Any]:
    return {
        "operationId": "createOrder",
        "summary": "Create an order",
        "parameters": [
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 64},
            }
        ],
        "requestBody": {"required": True, "content": _json("NewOrder")},
        "responses": {
            "201": {
                "description": "Created",
                "headers": LOCATION,
                "content": _json("OrderOut"),
                "links": ORDER_LINKS,
            },
            "200": {
                "description": "Already created with this Idempotency-Key",
                "headers": LOCATION,
                "content": _json("OrderOut"),
                "links": ORDER_LINKS,
            },
            "400": problem("Malformed body, or an Idempotency-Key not 1 to 64 characters"),
            "413": problem("Body too large"),
            "415": problem("Not JSON"),
            "422": problem("Invalid fields"),
            "503": problem(DATABASE_DOWN),
            **{str(status): problem(description) for status, description in problems.items()},
        },
    }


def _order_paths() -> dict[str, Any]:
    return {
        "/orders/{order_id}": {
            "get": {
                "operationId": "getOrder",
                "summary": "Read an order",
                "parameters": [ORDER_ID],
                "responses": {
                    "200": {
                        "description": "The order",
                        "content": _json("OrderOut"),
                    },
                    "404": problem("No such order"),
                    "503": problem(DATABASE_DOWN),
                },
            },
        },
        "/orders/{order_id}/cancel": {
            "post": {
                "operationId": "cancelOrder",
                "summary": "Cancel an order",
                "parameters": [ORDER_ID],
                "responses": {
                    "200": {
                        "description": "The cancelled order",
                        "content": _json("OrderOut"),
                    },
                    "404": problem("No such order"),
                    "409": problem("Already cancelled, or changed meanwhile"),
                    "503": problem(DATABASE_DOWN),
                },
            },
        },
    }


def query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    """The query parameters of an operation, one per field of the model that validates its query:
    a field added to the model is documented with it."""
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    return [
        {
            "name": name,
            "in": "query",
            "required": name in required,
            "schema": _given(field),
        }
        for name, field in schema["properties"].items()
    ]


def _given(field: dict[str, Any]) -> dict[str, Any]:
    """A field's schema as a query parameter's: an optional field (``X | None = None``) is absent
    or an ``X``, never null, which a query string cannot say."""
    kept = {key: value for key, value in field.items() if key != "title"}
    alternatives = [a for a in kept.pop("anyOf", []) if a != {"type": "null"}]
    if len(alternatives) == 1:
        kept.update(alternatives[0])
    elif alternatives:
        kept["anyOf"] = alternatives
    if kept.get("default", "") is None:
        del kept["default"]
    return kept


def _list_orders() -> dict[str, Any]:
    return {
        "operationId": "listOrders",
        "summary": "List orders by id, a page at a time",
        "parameters": query_parameters(PageQuery),
        "responses": {
            "200": {
                "description": "A page of orders",
                "content": _json("OrderPageOut"),
            },
            "422": problem("Invalid query"),
            "503": problem(DATABASE_DOWN),
        },
    }


def _service_paths() -> dict[str, Any]:
    return {
        "/healthz": {
            "get": {
                "operationId": "liveness",
                "summary": "Liveness",
                "responses": {
                    "200": {
                        "description": "Alive",
                    }
                },
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readiness",
                "summary": "Readiness of every configured dependency",
                "responses": {
                    "200": {
                        "description": "Ready",
                    },
                    "503": problem("A dependency is down; the body names it"),
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "OpenAPI",
                    }
                },
            }
        },
    }


def path_of(rule: Rule) -> str:
    """Where the document lists a URL rule: ``/orders/<int:order_id>`` is ``/orders/{order_id}``."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule.rule)


def document() -> dict[str, Any]:
    """The document of the current app (its price source decides what a new order holds, its
    dependencies' amendments what else it says)."""
    wired = wiring.of(current_app)
    source = wired.price_source()
    built: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": TITLE, "version": VERSION},
        "paths": {
            "/orders": {"post": _create_order(source.problems), "get": _list_orders()},
            **_order_paths(),
            **_service_paths(),
        },
        "components": {"schemas": schemas(source.request_model)},
    }
    for amendment in wired.amendments:
        amendment(built)
    return built


@bp.get("/openapi.json")
@public
def openapi_json() -> Response:
    return jsonify(document())
