"""The OpenAPI document: valid, served, and listing exactly the routes the app has."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from {{ cookiecutter.package_name }} import schemas
from {{ cookiecutter.package_name }}.openapi import REF, document
from tests.support.problems import REJECTED_BY_AN_OPERATION

UNDOCUMENTED_METHODS = {"HEAD", "OPTIONS"}


@pytest.fixture(autouse=True)
def _app_context(app: Flask) -> Iterator[None]:
    # The document describes an app: what a new order holds depends on its price source.
    with app.app_context():
        yield


def openapi_path(rule: str) -> str:
    """``/orders/<int:order_id>`` as OpenAPI writes it: ``/orders/{order_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def routes_of(app: Flask) -> dict[str, set[str]]:
    """Every route as an OpenAPI path (``/orders/{order_id}``) and its methods."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        routes.setdefault(openapi_path(rule.rule), set()).update(
            method.lower() for method in (rule.methods or set()) - UNDOCUMENTED_METHODS
        )
    return routes


def paths_of(spec: dict[str, Any]) -> dict[str, set[str]]:
    return {path: set(operations) for path, operations in spec["paths"].items()}


def test_document_is_valid_openapi() -> None:
    validate(document())


def test_document_is_served_as_json(client: FlaskClient) -> None:
    response = client.get("/openapi.json")

    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == document()


def test_document_lists_every_route_with_its_methods_and_nothing_else(app: Flask) -> None:
    assert paths_of(document()) == routes_of(app)


def test_every_path_parameter_is_declared() -> None:
    for path, operations in document()["paths"].items():
        in_path = set(re.findall(r"{([^}]+)}", path))
        for method, operation in operations.items():
            declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert declared == in_path, f"{method.upper()} {path}"


def test_the_query_parameters_are_the_fields_the_list_accepts(client: FlaskClient) -> None:
    operation = document()["paths"]["/orders"]["get"]
    documented = {p["name"] for p in operation["parameters"] if p["in"] == "query"}

    assert documented == set(schemas.PageQuery.model_fields)
    # Anything else is refused, so that nothing undocumented is accepted.
    assert client.get("/orders", query_string={"undocumented": "1"}).status_code == 422


def test_new_order_schema_requires_what_the_api_reports_missing(client: FlaskClient) -> None:
    schema = document()["components"]["schemas"]["NewOrder"]

    problem = client.post("/orders", json={}).get_json()

    assert sorted(schema["required"]) == sorted(error["field"] for error in problem["errors"])


def test_every_rejection_of_an_operation_is_documented_for_it(
    app: Flask, client: FlaskClient
) -> None:
    undocumented = []
    for name, method, path, options, status in REJECTED_BY_AN_OPERATION:
        rule, _ = app.url_map.bind("localhost").match(urlsplit(path).path, method, return_rule=True)
        operation = document()["paths"][openapi_path(rule.rule)][method.lower()]

        response = client.open(path, method=method, **options)

        assert response.status_code == status, name
        if str(status) not in operation["responses"]:
            undocumented.append(f"{name}: {method} {path} -> {status}")

    assert undocumented == []


def test_every_operation_on_orders_documents_a_database_outage(app: Flask) -> None:
    operations = [
        (path, method, document()["paths"][path][method])
        for path, methods in routes_of(app).items()
        if path.startswith("/orders")
        for method in methods
    ]

    assert operations
    assert [f"{m.upper()} {p}" for p, m, op in operations if "503" not in op["responses"]] == []


def test_response_schemas_are_the_models_the_responses_are_made_with() -> None:
    components = document()["components"]["schemas"]

    for model in (schemas.OrderOut, schemas.OrderPageOut, schemas.StatusChangeOut):
        expected = model.model_json_schema(mode="serialization", ref_template=REF)
        expected.pop("$defs", None)
        assert components[model.__name__] == expected, model.__name__


def test_the_idempotency_key_is_documented_as_validated() -> None:
    [key] = document()["paths"]["/orders"]["post"]["parameters"]

    assert key["schema"] == {"type": "string", "minLength": 1, "maxLength": 64}
    assert "400" in document()["paths"]["/orders"]["post"]["responses"]
