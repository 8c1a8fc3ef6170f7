"""The OpenAPI 3.1 document of the service, served at ``/openapi.json``.

Request schemas come from the pydantic models that validate the requests, so the document
cannot drift from what the service accepts; the unit tests check it lists every route.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from . import orders
from .schemas import MAX_ID

bp = Blueprint("openapi", __name__)
# JSON quoting keeps any name a valid literal; the formatter would prefer other quotes for some.
TITLE = {{ cookiecutter.project_name | tojson }}  # fmt: skip
VERSION = {{ cookiecutter.version | tojson }}


def _json(schema_ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema_ref}"}}}


def _problem(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }


ORDER_ID = {"name": "order_id", "in": "path", "required": True, "schema": {"type": "integer"}}

ORDER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": [
        "id",
        "sku",
        "quantity",
        "unit_price",
        "total",
        "currency",
        "status",
        "created_at",
    ],
    "properties": {
        "id": {"type": "integer"},
        "sku": {"type": "string"},
        "quantity": {"type": "integer"},
        "unit_price": {"type": "string", "description": "Decimal amount"},
        "total": {"type": "string", "description": "Decimal amount"},
        "currency": {"type": "string"},
        "status": {"type": "string", "enum": ["created", "cancelled"]},
        "created_at": {"type": "string", "format": "date-time"},
        "history": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "status": {"type": "string"},
                    "changed_at": {"type": "string", "format": "date-time"},
                },
            },
        },
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


def document() -> dict[str, Any]:
    """The document of the current app (its price source decides what a new order holds)."""
    source = orders.prices()
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": VERSION,
        },
        "paths": {
            "/orders": {
                "post": {
                    "summary": "Create an order",
                    "parameters": [
                        {
                            "name": "Idempotency-Key",
                            "in": "header",
                            "required": False,
                            "schema": {"type": "string", "maxLength": 64},
                        }
                    ],
                    "requestBody": {"required": True, "content": _json("NewOrder")},
                    "responses": {
                        "201": {"description": "Created", "content": _json("Order")},
                        "200": {
                            "description": "Already created with this Idempotency-Key",
                            "content": _json("Order"),
                        },
                        "400": _problem("Malformed body"),
                        "413": _problem("Body too large"),
                        "415": _problem("Not JSON"),
                        "422": _problem("Invalid fields"),
                        "503": _problem("A dependency is unavailable"),
                        **{
                            str(status): _problem(description)
                            for status, description in source.problems.items()
                        },
                    },
                },
                "get": {
                    "summary": "List orders by id, a page at a time",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {
                            "name": "after",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
                        },
                    ],
                    "responses": {
                        "200": {"description": "A page of orders", "content": _json("OrderPage")},
                        "422": _problem("Invalid query"),
                    },
                },
            },
            "/orders/{order_id}": {
                "get": {
                    "summary": "Read an order",
                    "parameters": [ORDER_ID],
                    "responses": {
                        "200": {"description": "The order", "content": _json("Order")},
                        "404": _problem("No such order"),
                    },
                },
            },
            "/orders/{order_id}/cancel": {
                "post": {
                    "summary": "Cancel an order",
                    "parameters": [ORDER_ID],
                    "responses": {
                        "200": {"description": "The cancelled order", "content": _json("Order")},
                        "404": _problem("No such order"),
                        "409": _problem("Already cancelled, or changed meanwhile"),
                    },
                },
            },
            "/healthz": {
                "get": {"summary": "Liveness", "responses": {"200": {"description": "Alive"}}}
            },
            "/readyz": {
                "get": {
                    "summary": "Readiness of every configured dependency",
                    "responses": {
                        "200": {"description": "Ready"},
                        "503": _problem("A dependency is down; the body names it"),
                    },
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document",
                    "responses": {"200": {"description": "OpenAPI"}},
                }
            },
        },
        "components": {
            "schemas": {
                "NewOrder": source.request_model.model_json_schema(),
                "Order": ORDER_SCHEMA,
                "OrderPage": {
                    "type": "object",
                    "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Order"}},
                        "next_after": {"type": ["integer", "null"]},
                    },
                },
                "Problem": PROBLEM_SCHEMA,
            }
        },
    }


@bp.get("/openapi.json")
def openapi_json() -> Response:
    return jsonify(document())
