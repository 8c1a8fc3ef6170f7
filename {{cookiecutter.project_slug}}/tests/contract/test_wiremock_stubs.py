"""The virtual pricing service held to the pact: every WireMock stub in ``tests/wiremock/mappings``
must answer a request some interaction of the pricing pact describes, with a response that
interaction allows (status, content type, and a body that satisfies its matching rules). A stub
that answers what the real pricing service promises not to fails here, before an integration test
could pass against it.

Pact's own tools verify a provider over HTTP; a stub file is not one, so the small check below
applies the pact's rules to the stubs directly (the matchers this pact uses; any other fails
loudly rather than passing unchecked).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.contract import interactions

MAPPINGS = Path(__file__).resolve().parents[1] / "wiremock" / "mappings"
Json = dict[str, Any]


def stubs() -> list[Json]:
    found: list[Json] = []
    for path in sorted(MAPPINGS.glob("*.json")):
        found.extend(json.loads(path.read_text(encoding="utf-8"))["mappings"])
    return found


def stub_matches_request(stub: Json, request: Json) -> bool:
    """Whether the stub would answer the interaction's request (WireMock's URL matchers)."""
    wanted = stub["request"]
    if wanted.get("method", "ANY") not in ("ANY", request["method"]):
        return False
    path = request["path"]
    if "url" in wanted or "urlPath" in wanted:
        return bool(wanted.get("url", wanted.get("urlPath")) == path)
    if "urlPathPattern" in wanted or "urlPattern" in wanted:
        return (
            re.fullmatch(wanted.get("urlPathPattern", wanted.get("urlPattern")), path) is not None
        )
    raise AssertionError(f"stub {stub.get('name')!r}: no URL matcher this check knows")


def _media_type(value: str | None) -> str | None:
    return value.split(";")[0].strip().lower() if value else None


def _header(headers: Json, name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else str(value)
    return None


def _satisfies(rule: Json, value: Any) -> bool:
    kind = rule["match"]
    if kind == "regex":
        return isinstance(value, str) and re.fullmatch(rule["regex"], value) is not None
    if kind == "type":
        return True  # the type is compared with the example by the caller
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind in ("decimal", "number"):
        return isinstance(value, int | float) and not isinstance(value, bool)
    raise AssertionError(f"matcher {kind!r} is not known to this check: extend it")


def body_problems(expected: Any, actual: Any, rules: Json, path: str = "$") -> list[str]:
    """Where ``actual`` breaks the pact's body: its matching rules, or equality to the example
    where no rule applies (extra keys in an object are allowed, as Pact allows them)."""
    rule = rules.get(path)
    if rule is not None:
        broken = [r for r in rule["matchers"] if not _satisfies(r, actual)]
        same_type = type(actual) is type(expected)
        if broken or (any(r["match"] == "type" for r in rule["matchers"]) and not same_type):
            return [f"{path}: {actual!r} breaks {rule['matchers']}"]
        if not isinstance(expected, dict | list):
            return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: {actual!r} is not an object"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(body_problems(value, actual[key], rules, f"{path}.{key}"))
        return problems
    if expected != actual:
        return [f"{path}: {actual!r} is not {expected!r}"]
    return []


def response_problems(stub: Json, interaction: Json) -> list[str]:
    """Where the stub's response breaks what the interaction allows."""
    answer, allowed = stub["response"], interaction["response"]
    if answer.get("status", 200) != allowed["status"]:
        return [f"status {answer.get('status', 200)} is not {allowed['status']}"]
    body = allowed.get("body")
    if body is None:
        return []
    problems = []
    expected_type = _media_type(body.get("contentType"))
    actual_type = _media_type(_header(answer.get("headers", {}), "Content-Type"))
    if expected_type != actual_type:
        problems.append(f"Content-Type {actual_type} is not {expected_type}")
    actual = answer.get("jsonBody")
    if actual is None and "body" in answer:
        actual = json.loads(answer["body"])
    rules = allowed.get("matchingRules", {}).get("body", {})
    return problems + body_problems(body["content"], actual, rules)


def stub_problems(stub: Json, pact: list[Json]) -> list[str]:
    """Nothing if some interaction describes the stub's request and allows its response."""
    described = [i for i in pact if stub_matches_request(stub, i["request"])]
    if not described:
        return [f"stub {stub.get('name')!r} answers a request no interaction of the pact describes"]
    reasons = {i["description"]: response_problems(stub, i) for i in described}
    if any(not problems for problems in reasons.values()):
        return []
    return [f"stub {stub.get('name')!r} answers what the pact does not allow: {reasons}"]


@pytest.fixture(scope="module")
def pricing_pact(pricing_pact_file: Path) -> list[Json]:
    return interactions(pricing_pact_file)


def test_every_stub_answers_as_the_pricing_pact_allows(pricing_pact: list[Json]) -> None:
    found = stubs()

    assert found, f"no WireMock mappings in {MAPPINGS}"
    assert [problem for stub in found for problem in stub_problems(stub, pricing_pact)] == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"jsonBody": {"unit_price": 12.5, "currency": "EUR"}}, "$.unit_price"),
        ({"jsonBody": {"unit_price": "12.50", "currency": "euro"}}, "$.currency"),
        ({"jsonBody": {"unit_price": "12.50"}}, "$.currency: missing"),
        ({"headers": {"Content-Type": "text/plain"}}, "Content-Type text/plain"),
        ({"status": 201}, "status 201"),
    ],
    ids=["price a number", "currency not a code", "no currency", "not JSON", "other status"],
)
def test_a_stub_answering_what_the_pact_forbids_is_reported(
    pricing_pact: list[Json], change: Json, expected: str
) -> None:
    [known] = [
        stub
        for stub in stubs()
        if stub["response"]["status"] == 200
        and "jsonBody" in stub["response"]
        and "unit_price" in stub["response"]["jsonBody"]
    ]
    broken = {**known, "response": {**known["response"], **change}}

    problems = stub_problems(broken, pricing_pact)

    assert len(problems) == 1
    assert expected in problems[0]


def test_a_stub_for_a_request_the_pact_does_not_describe_is_reported(
    pricing_pact: list[Json],
) -> None:
    stub = {"name": "discounts", "request": {"method": "GET", "url": "/discounts"}, "response": {}}

    assert stub_problems(stub, pricing_pact) == [
        "stub 'discounts' answers a request no interaction of the pact describes"
    ]
