"""The OpenAPI document: valid, served, listing exactly the routes the app has, and describing
each answer the app gives (status, media type, body) and each request it takes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_schema_validator import OAS31Validator
from openapi_schema_validator import validate as validate_instance
from openapi_spec_validator import validate
from pydantic import BaseModel, Field
from werkzeug.test import TestResponse

from {{ cookiecutter.package_name }} import access, schemas
from {{ cookiecutter.package_name }}.openapi import REF, document, query_parameters
from {{ cookiecutter.package_name }}.orders import IDEMPOTENCY_HEADER
from tests.support.api import Orders, order_body
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


def test_every_view_says_who_may_call_it(app: Flask) -> None:
    silent = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if not access.declared(app.view_functions[rule.endpoint])
    ]

    assert silent == []


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


# The names client generators give their methods: renaming one breaks every generated client.
OPERATION_IDS = {
    ("post", "/orders"): "createOrder",
    ("get", "/orders"): "listOrders",
    ("get", "/orders/{order_id}"): "getOrder",
    ("post", "/orders/{order_id}/cancel"): "cancelOrder",
    ("get", "/healthz"): "liveness",
    ("get", "/readyz"): "readiness",
    ("get", "/openapi.json"): "openapi",
}


def assert_documented(spec: dict[str, Any], method: str, path: str, answer: TestResponse) -> None:
    """The answer's status is documented for the operation and, where the document gives its
    content, the answer has one of those media types and a body its schema accepts."""
    documented = spec["paths"][path][method.lower()]["responses"]
    where = f"{method} {path} -> {answer.status_code}"
    assert str(answer.status_code) in documented, where
    content = documented[str(answer.status_code)].get("content")
    if content is None:
        return
    assert answer.mimetype in content, where
    assert_valid(spec, content[answer.mimetype]["schema"], answer.get_json())


def assert_valid(spec: dict[str, Any], schema: dict[str, Any], instance: Any) -> None:
    """``instance`` is valid against ``schema``, a reference into the document's components."""
    assert set(schema) == {"$ref"}, schema
    validate_instance(instance, {**schema, "components": spec["components"]}, cls=OAS31Validator)


def test_every_answer_is_the_response_the_document_gives(
    client: FlaskClient, orders: Orders
) -> None:
    spec = document()
    created = orders.create(key="documented")
    order_id = created.get_json()["id"]
    answers = [
        ("POST", "/orders", created),
        ("POST", "/orders", orders.create(key="documented")),
        ("GET", "/orders/{order_id}", orders.get(order_id)),
        ("GET", "/orders", orders.page()),
        ("POST", "/orders/{order_id}/cancel", orders.cancel(order_id)),
        ("GET", "/healthz", client.get("/healthz")),
        ("GET", "/readyz", client.get("/readyz")),
        ("GET", "/openapi.json", client.get("/openapi.json")),
    ]

    assert [answer.status_code for _, _, answer in answers] == [201] + [200] * 7
    for method, path, answer in answers:
        assert_documented(spec, method, path, answer)


@pytest.mark.parametrize(
    ("method", "path", "options", "status"),
    [case[1:] for case in REJECTED_BY_AN_OPERATION],
    ids=[case[0] for case in REJECTED_BY_AN_OPERATION],
)
def test_every_rejection_is_the_problem_the_document_gives(
    app: Flask, client: FlaskClient, method: str, path: str, options: dict[str, Any], status: int
) -> None:
    rule, _ = app.url_map.bind("localhost").match(urlsplit(path).path, method, return_rule=True)

    answer = client.open(path, method=method, **options)

    assert answer.status_code == status
    assert_documented(document(), method, openapi_path(rule.rule), answer)


def test_the_request_body_is_documented_as_the_service_takes_it(client: FlaskClient) -> None:
    spec = document()
    operation = spec["paths"]["/orders"]["post"]
    [key] = operation["parameters"]
    body = operation["requestBody"]

    assert_valid(spec, body["content"]["application/json"]["schema"], order_body())
    # Required as the service requires them: a body always, an idempotency key never.
    assert body["required"] is True
    assert client.post("/orders", content_type="application/json").status_code == 400
    assert (key["name"], key["in"], key["required"]) == (IDEMPOTENCY_HEADER, "header", False)
    assert client.post("/orders", json=order_body()).status_code == 201


def test_operation_ids_are_the_names_clients_generate_from() -> None:
    found = {
        (method, path): operation["operationId"]
        for path, operations in document()["paths"].items()
        for method, operation in operations.items()
    }

    assert found == OPERATION_IDS


def test_every_link_leads_to_an_operation_with_the_parameters_it_fills() -> None:
    spec = document()
    operations = {
        operation["operationId"]: operation
        for operations in spec["paths"].values()
        for operation in operations.values()
    }
    links = [
        (response["content"]["application/json"]["schema"], link)
        for operation in operations.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    ]

    assert links
    for schema, link in links:
        target = operations[link["operationId"]]
        assert set(link["parameters"]) <= {p["name"] for p in target["parameters"]}, link
        # Each value is a member of the response the link starts from.
        model = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
        for expression in link["parameters"].values():
            assert expression.removeprefix("$response.body#/") in model["properties"], link


class Needs(BaseModel):
    needed: int = Field(ge=1)
    optional: str = "x"
    # Absent, not null: a query string has no null.
    absent_or_given: Literal["created", "cancelled"] | None = None


def test_query_parameters_say_which_are_required_and_keep_each_constraint() -> None:
    parameters = {parameter["name"]: parameter for parameter in query_parameters(Needs)}

    assert parameters["needed"] == {
        "name": "needed",
        "in": "query",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
    assert parameters["optional"] == {
        "name": "optional",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "default": "x"},
    }
    assert parameters["absent_or_given"] == {
        "name": "absent_or_given",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["created", "cancelled"]},
    }
