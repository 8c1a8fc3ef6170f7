"""Every error leaves the service as ``application/problem+json`` (RFC 9457)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"
logger = logging.getLogger(__name__)


class Problem(Exception):
    """An error the client is told about: status, a short title, a detail and optional members."""

    def __init__(self, status: int, title: str, detail: str | None = None, **members: Any) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.members = members


def problem_response(
    status: int, title: str, detail: str | None = None, **members: Any
) -> Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(members)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    return response


def _from_problem(problem: Problem) -> Response:
    return problem_response(problem.status, problem.title, problem.detail, **problem.members)


def _from_http_exception(error: HTTPException) -> Response:
    status = error.code or 500
    response = problem_response(status, error.name, error.description)
    if status == 405 and error.response is None:
        allowed = getattr(error, "valid_methods", None) or []
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _from_unexpected(error: Exception) -> Response:
    logger.exception("unhandled error", exc_info=error)
    return problem_response(500, "Internal Server Error", "The service failed unexpectedly.")


def init_app(app: Flask) -> None:
    app.register_error_handler(Problem, _from_problem)
    app.register_error_handler(HTTPException, _from_http_exception)
    app.register_error_handler(Exception, _from_unexpected)
