"""classify(), transport_error(), retry_delay() and Retry-After parsing, as tables."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from ml_connector.clients import classify
from ml_connector.clients._classify import (
    ErrorContext,
    parse_retry_after,
    retry_delay,
    transport_error,
)
from ml_connector.errors import (
    AmbiguousOutcome,
    AuthenticationError,
    FatalVendorError,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
    RateLimited,
    RetriableVendorError,
    ValidationRejected,
    VendorError,
)

CONTEXT = ErrorContext(company_id="1234567", tenant_id="tenant-7")


def answer(
    status: int,
    body: Any = None,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    text: str | None = None,
) -> httpx.Response:
    request = httpx.Request(method, "https://vendor.test/v1/thing")
    if text is not None:
        return httpx.Response(status, text=text, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


RAMP_422 = {
    "error_v2": {
        "error_code": "DEVELOPER_7001",
        "additional_info": {"page_size": ["Value must be between 2 and 100"]},
        "notes": "",
        "message": "Value must be between 2 and 100",
    },
    "error": {"page_size": ["Value must be between 2 and 100"]},
}
RAMP_403 = {"error_v2": {"error_code": "DEVELOPER_7100", "message": "Missing scope bills:write"}}
VISMA_FIELD = {
    "message": "VismaId: d26ecd9e. Error: An error occurred during processing of the field "
    "County: Object reference not set to an instance of an object."
}
IPP_12002 = {
    "ExceptionType": "IPPException",
    "ExceptionMessage": "User is not authorised for the company.",
    "ExceptionFaultCode": "12002",
    "ExceptionMessageID": "12002_abc",
    "ExceptionDetails": "",
}


@pytest.mark.parametrize(
    ("system", "response", "expected", "in_message", "field"),
    [
        ("Ramp", answer(429, {}, headers={"Retry-After": "7"}), RateLimited, "rate limited", None),
        ("Ramp", answer(503, {}), RetriableVendorError, "server error", None),
        ("Ramp", answer(500, {}, method="POST"), AmbiguousOutcome, "look it up first", None),
        ("Visma", answer(502, {}, method="PUT"), AmbiguousOutcome, "look it up first", None),
        ("Visma", answer(504, {}, method="DELETE"), AmbiguousOutcome, "look it up first", None),
        ("Ramp", answer(401, {}), AuthenticationError, "client id and secret", None),
        ("Ramp", answer(403, RAMP_403), PermissionDenied, "DEVELOPER_7100", None),
        ("Visma", answer(403, {}), PermissionDenied, "vismanet_erp_service_api", None),
        ("Visma", answer(404, {"message": "Supplier not found"}), NotFound, "not found", None),
        ("Visma", answer(412, {}, method="PUT"), PreconditionFailed, "re-read", None),
        ("Ramp", answer(422, RAMP_422), ValidationRejected, "between 2 and 100", "page_size"),
        ("Visma", answer(400, VISMA_FIELD), ValidationRejected, "Object reference", "County"),
        ("Visma", answer(400, {"Message": "Capitalised key"}), ValidationRejected, "Capital", None),
        ("Visma", answer(400, text="<html>Bad</html>"), ValidationRejected, "<html>Bad", None),
        ("Visma", answer(400, IPP_12002), AuthenticationError, "company id 1234567", None),
        (
            "Visma",
            answer(400, {"error": "invalid_tenant"}, method="POST"),
            AuthenticationError,
            "tenant id tenant-7",
            None,
        ),
        ("Ramp", answer(401, {"error": "invalid_client"}), AuthenticationError, "invalid_", None),
        ("Ramp", answer(400, {"error": "invalid_scope"}), PermissionDenied, "Ramp (Dev", None),
        ("Ramp", answer(302, {}), FatalVendorError, "unexpected HTTP 302", None),
    ],
)
def test_answers_map_to_the_error_tree(
    system: str,
    response: httpx.Response,
    expected: type[VendorError],
    in_message: str,
    field: str | None,
) -> None:
    """Each status/body pair becomes the right error, message and field."""
    error = classify(response, system=system, context=CONTEXT)
    assert type(error) is expected
    assert error is not None
    assert in_message in str(error)
    assert error.status == response.status_code
    assert error.system == system
    if isinstance(error, ValidationRejected):
        assert error.field == field


def test_successes_are_not_errors() -> None:
    """2xx answers classify to None."""
    assert classify(answer(200, {}), system="Ramp") is None
    assert classify(answer(204, None, method="DELETE"), system="Visma") is None


def test_idempotent_writes_are_retriable_not_ambiguous() -> None:
    """A 5xx on a POST the caller marks idempotent (token, keyed sync) is plainly retriable."""
    error = classify(answer(502, {}, method="POST"), system="Ramp", idempotent=True)
    assert type(error) is RetriableVendorError


def test_vendor_message_is_kept_verbatim() -> None:
    """The vendor's own words survive unchanged in vendor_message."""
    error = classify(answer(400, VISMA_FIELD, method="POST"), system="Visma")
    assert error is not None
    assert error.vendor_message == VISMA_FIELD["message"]
    assert (error.method, error.path) == ("POST", "/v1/thing")


def test_ramp_fields_validation_variant_names_the_field() -> None:
    """Ramp's newer fields_validation body still yields a message and the field."""
    body = {"error_v2": {"fields_validation": {"events.0.usage": "Field required"}}}
    error = classify(answer(422, body, method="POST"), system="Ramp")
    assert isinstance(error, ValidationRejected)
    assert error.field == "events.0.usage"
    assert "Field required" in str(error)


def test_echoed_secrets_are_scrubbed_from_errors() -> None:
    """If a vendor ever echoes our secret, the error shows a mask instead."""
    response = answer(400, {"message": "bad secret s3cr3t-value"}, method="POST")
    error = classify(response, system="Visma", scrub=["s3cr3t-value"])
    assert error is not None
    assert "s3cr3t-value" not in str(error)
    assert "s3cr3t-value" not in error.vendor_message


def test_rate_limit_carries_retry_after_from_seconds_or_date() -> None:
    """Retry-After as seconds or as an HTTP date both land in retry_after."""
    error = classify(answer(429, {}, headers={"Retry-After": "12"}), system="Visma")
    assert isinstance(error, RateLimited)
    assert error.retry_after == 12.0
    now = datetime(2025, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Wed, 01 Jan 2025 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Wed, 01 Jan 2025 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after(None) is None


@pytest.mark.parametrize(
    ("exc", "idempotent", "expected"),
    [
        (httpx.ReadTimeout("slow"), True, RetriableVendorError),
        (httpx.ReadTimeout("slow"), False, AmbiguousOutcome),
        (TimeoutError(), False, AmbiguousOutcome),
        (httpx.RemoteProtocolError("cut"), False, AmbiguousOutcome),
        (httpx.ConnectError("refused"), False, RetriableVendorError),
        (httpx.ConnectTimeout("no route"), False, RetriableVendorError),
        (httpx.PoolTimeout("busy"), False, RetriableVendorError),
    ],
)
def test_transport_failures_are_ambiguous_only_for_writes_that_may_have_been_sent(
    exc: Exception, idempotent: bool, expected: type[VendorError]
) -> None:
    """A write that may have reached the vendor is ambiguous; a refused connection is not."""
    error = transport_error(exc, system="Visma", method="POST", path="/v1/x", idempotent=idempotent)
    assert type(error) is expected


@pytest.mark.parametrize(
    ("error", "idempotent", "decision"),
    [
        (RateLimited("Ramp", "r"), False, True),
        (RateLimited("Ramp", "r", retry_after=3.0), False, 3.0),
        (RateLimited("Ramp", "r", retry_after=120.0), True, False),
        (RetriableVendorError("Ramp", "5xx"), True, True),
        (RetriableVendorError("Ramp", "5xx"), False, False),
        (RetriableVendorError("Ramp", "503", retry_after=2.0), True, 2.0),
        (AmbiguousOutcome("Visma", "maybe"), True, False),
        (ValidationRejected("Visma", "no"), True, False),
    ],
)
def test_retry_decisions(error: Exception, idempotent: bool, decision: bool | float) -> None:
    """429 retries for any request within the Retry-After cap; 5xx only for idempotent ones."""
    assert retry_delay(error, idempotent=idempotent, max_retry_after_s=30.0) == decision
