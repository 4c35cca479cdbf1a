"""The contract-validation support: spec reading rules, path matching, recording transport."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.openapi import SpecValidator
from support.recording import RecordingTransport

BILL_ID = "6e3816e3-0e53-42ae-b075-bdb0adff10c4"
BILL_PATH = f"/developer/v1/bills/{BILL_ID}"

# A Bill shaped as the schema says (the spec's own example predates some required fields).
VALID_BILL: dict[str, Any] = {
    "id": BILL_ID,
    "accounting_date": "2024-05-12T00:00:00+00:00",
    "accounting_field_selections": [],
    "amount": {"amount": 96993, "currency_code": "USD"},
    "approval_status": "APPROVED",
    "archived_at": None,
    "bill_owner": {"id": "96bb7007-eec5-430f-8d09-e033cbc000c2", "first_name": "John"},
    "created_at": "2024-05-12T01:37:27+00:00",
    "due_at": "2026-08-03T09:00:00.000",
    "entity_id": "5bcc3734-f03a-4756-bc4b-afeb52d738ad",
    "fx_conversion_rate": "1.0",
    "inventory_line_items": [],
    "invoice_number": "432",
    "invoice_urls": ["https://receipts.ramp.com/some-url"],
    "issued_at": "2024-05-12T00:00:00Z",
    "line_items": [
        {
            "accounting_field_selections": [],
            "amount": {"amount": 96993, "currency_code": "USD"},
            "memo": "Office chairs",
        }
    ],
    "payment": {
        "amount": {"amount": 96993, "currency_code": "USD"},
        "details": {"approval_status": None},
        "effective_date": "2024-05-13T00:00:00+00:00",
        "payment_date": "2024-05-13T00:00:00+00:00",
        "payment_method": "ACH",
        "trace_id": None,
    },
    "status": "OPEN",
    "sync_status": "NOT_SYNCED",
    "vendor": {"id": "ef825336-820e-4dd5-9d7f-0fc508e978c9", "name": "Amazon"},
    "vendor_contact_id": None,
}


@pytest.fixture
def ramp(shared_specs_dir: Path) -> SpecValidator:
    return SpecValidator.load("ramp", shared_specs_dir)


@pytest.fixture
def visma(shared_specs_dir: Path) -> SpecValidator:
    return SpecValidator.load("visma", shared_specs_dir)


@pytest.fixture
def legacy(shared_specs_dir: Path) -> SpecValidator:
    return SpecValidator.load("visma-legacy", shared_specs_dir)


def bill(**changes: Any) -> dict[str, Any]:
    """A deep copy of VALID_BILL with top-level fields replaced."""
    return {**copy.deepcopy(VALID_BILL), **changes}


def failure(check: Any, *args: Any, **kwargs: Any) -> str:
    """Run a validation expected to fail and return its message."""
    with pytest.raises(AssertionError) as raised:
        check(*args, **kwargs)
    return str(raised.value)


# -- Ramp ------------------------------------------------------------------------------------


def test_valid_ramp_bill_passes(ramp: SpecValidator) -> None:
    """A Bill that follows the schema passes as the GET /bills/{bill_id} 200 body."""
    ramp.validate_response("GET", BILL_PATH + "?x=1", 200, bill())


def test_load_is_cached_per_process(shared_specs_dir: Path, ramp: SpecValidator) -> None:
    """Loading the same spec twice returns the same validator object."""
    assert SpecValidator.load("ramp", shared_specs_dir) is ramp


def test_wrong_type_fails_with_pointer_and_operation(ramp: SpecValidator) -> None:
    """A string where an integer is declared fails, naming operation, status and pointer."""
    body = bill(amount={"amount": "969.93", "currency_code": "USD"})
    message = failure(ramp.validate_response, "GET", BILL_PATH, 200, body)
    assert "get_bill_resource" in message
    assert "-> 200" in message
    assert "at /amount/amount: '969.93' is not of type 'integer'" in message


def test_every_mismatch_is_listed(ramp: SpecValidator) -> None:
    """Several mismatches are reported together, one line each."""
    body = bill(status="BOGUS", vendor={"name": "Amazon"})
    message = failure(ramp.validate_response, "GET", BILL_PATH, 200, body)
    assert "at /status:" in message
    assert "at /vendor: 'id' is a required property" in message


def test_nullable_allof_accepts_null_but_not_other_shapes(ramp: SpecValidator) -> None:
    """`payment` (nullable allOf) accepts null; a wrong shape fails inside the branch."""
    ramp.validate_response("GET", BILL_PATH, 200, bill(payment=None))
    message = failure(ramp.validate_response, "GET", BILL_PATH, 200, bill(payment={}))
    assert "at /payment: matches none of the allowed schemas" in message
    assert "'amount' is a required property" in message


def test_non_nullable_field_rejects_null(ramp: SpecValidator) -> None:
    """A field without `nullable` (remote_id) must be omitted rather than sent as null."""
    message = failure(ramp.validate_response, "GET", BILL_PATH, 200, bill(remote_id=None))
    assert "at /remote_id: None is not of type 'string'" in message


def test_date_time_needs_a_time_part(ramp: SpecValidator) -> None:
    """Offset-less date-times pass; a bare date or another layout does not."""
    ramp.validate_response("GET", BILL_PATH, 200, bill(due_at="2026-08-03T09:00:00"))
    for wrong in ("2026-08-03", "03/08/2026 09:00"):
        message = failure(ramp.validate_response, "GET", BILL_PATH, 200, bill(due_at=wrong))
        assert "at /due_at:" in message
        assert "date-time" in message


def test_uuid_format_is_checked(ramp: SpecValidator) -> None:
    """A non-UUID where `format: uuid` is declared fails."""
    message = failure(ramp.validate_response, "GET", BILL_PATH, 200, bill(entity_id="entity-1"))
    assert "at /entity_id:" in message


def test_undeclared_status_fails_unless_allowed(ramp: SpecValidator) -> None:
    """A status the operation does not declare fails; `undeclared_ok` lets it through."""
    message = failure(ramp.validate_response, "GET", BILL_PATH, 503, {"error": "down"})
    assert "status 503: not declared (declared: 200, 400)" in message
    ramp.validate_response("GET", BILL_PATH, 503, {"error": "down"}, undeclared_ok={503})


def test_status_without_schema_only_checks_status(ramp: SpecValidator) -> None:
    """The 400 response declares no schema, so any body passes with that status."""
    ramp.validate_response("GET", BILL_PATH, 400, {"anything": ["goes"]})


def test_no_content_status_needs_no_body(ramp: SpecValidator) -> None:
    """DELETE answering 204 with no body passes though the spec names a schema."""
    ramp.validate_response("DELETE", BILL_PATH, 204, None)


def test_missing_body_fails_where_one_is_declared(ramp: SpecValidator) -> None:
    """A 200 with no body fails where the spec declares a Bill."""
    message = failure(ramp.validate_response, "GET", BILL_PATH, 200, None)
    assert "missing" in message


def test_literal_segment_wins_over_parameter(ramp: SpecValidator) -> None:
    """/bills/drafts matches its own template, not /bills/{bill_id}."""
    template, operation = ramp.find_operation("GET", "/developer/v1/bills/drafts")
    assert template == "/developer/v1/bills/drafts"
    assert ramp.find_operation("GET", BILL_PATH)[0] == "/developer/v1/bills/{bill_id}"
    assert operation["operationId"] != "get_bill_resource"


def test_unknown_path_or_method_fails(ramp: SpecValidator) -> None:
    """Paths and methods absent from the spec are reported as such."""
    assert "no matching path" in failure(ramp.find_operation, "GET", "/developer/v1/nope")
    assert "method not declared" in failure(ramp.find_operation, "PUT", "/developer/v1/bills")
    # Ramp paths are case-sensitive.
    assert "no matching path" in failure(ramp.find_operation, "GET", "/developer/v1/BILLS")


def test_page_size_query_must_be_an_integer(ramp: SpecValidator) -> None:
    """page_size is declared as an integer (no bounds in the spec): text fails, digits pass."""
    ramp.validate_request("GET", "/developer/v1/bills?page_size=50&sync_ready=true", None)
    ramp.validate_request("GET", "/developer/v1/bills", None, {"page_size": "100"})
    message = failure(ramp.validate_request, "GET", "/developer/v1/bills", None, {"page_size": "x"})
    assert "query parameter 'page_size' at (root): 'x' is not of type 'integer'" in message


def test_query_enum_unknown_and_repeated_parameters(ramp: SpecValidator) -> None:
    """A value outside the enum, an undeclared name and a repeated scalar all fail."""
    path = "/developer/v1/bills?approval_status=DONE&pageSize=5&start=a&start=b"
    message = failure(ramp.validate_request, "GET", path, None)
    assert "query parameter 'approval_status'" in message
    assert "query parameter 'pageSize': not declared" in message
    assert "query parameter 'start': given 2 times" in message


def test_union_and_array_query_parameters(ramp: SpecValidator) -> None:
    """min_amount (decimal string or number) and a comma-separated array decode and validate."""
    ramp.validate_request("GET", "/developer/v1/bills", None, {"min_amount": "12.50"})
    message = failure(ramp.validate_request, "GET", "/developer/v1/bills?min_amount=lots", None)
    assert "query parameter 'min_amount'" in message
    rows = "/developer/v1/custom-records/native-tables/vendors/rows?ramp_id=a,b"
    ramp.validate_request("GET", rows, None)


def test_query_values_given_as_python_scalars(ramp: SpecValidator) -> None:
    """Ints and bools in the `query` mapping are read as their wire form."""
    ramp.validate_request("GET", "/developer/v1/bills", None, {"page_size": 25, "sync_ready": True})


def test_request_body_rules(ramp: SpecValidator) -> None:
    """A required body must be sent, and a body-less operation must not get one."""
    assert "required but missing" in failure(ramp.validate_request, "PATCH", BILL_PATH, None)
    message = failure(ramp.validate_request, "GET", BILL_PATH, {"x": 1})
    assert "the operation declares none" in message


def test_token_form_body_is_checked_against_the_json_schema(ramp: SpecValidator) -> None:
    """Ramp's token endpoint takes a form body (per its description); fields are checked."""
    form = "application/x-www-form-urlencoded"
    body = "grant_type=client_credentials&scope=bills%3Aread"
    ramp.validate_request("POST", "/developer/v1/token", body, content_type=form)
    message = failure(
        ramp.validate_request, "POST", "/developer/v1/token", "scope=x", content_type=form
    )
    assert "'grant_type' is a required property" in message


def test_secrets_stay_out_of_messages(ramp: SpecValidator) -> None:
    """A failing token response never echoes the token value."""
    body = [{"access_token": "ramp_tok_TOPSECRET", "expires_in": 1}]
    message = failure(ramp.validate_response, "POST", "/developer/v1/token", 200, body)
    assert "is not of type 'object'" in message
    assert "TOPSECRET" not in message


# -- Visma -----------------------------------------------------------------------------------


def test_visma_unwrapped_scalar_fails(visma: SpecValidator) -> None:
    """SupplierInvoiceUpdateDto wants {"value": ...}; a bare string fails at its pointer."""
    body = {"postPeriod": "112026", "supplierNumber": {"value": "50010"}}
    message = failure(visma.validate_request, "POST", "/v1/supplierInvoice", body)
    assert "at /postPeriod: '112026' is not of type 'object'" in message


def test_visma_wrapped_update_dto_passes(visma: SpecValidator) -> None:
    """A wrapped SupplierInvoiceUpdateDto with an offset-less date-time passes."""
    body = {
        "documentType": {"value": "Invoice"},
        "supplierNumber": {"value": "50010"},
        "postPeriod": {"value": "082026"},
        "date": {"value": "2026-08-03T09:00:00.000"},
        "amount": {"value": 125.5},
        "invoiceLines": [],
    }
    visma.validate_request("POST", "/v1/supplierInvoice", body)


def test_visma_created_reply_without_body_passes(visma: SpecValidator) -> None:
    """Visma answers a create with 201, a Location header and no body."""
    visma.validate_response("POST", "/v1/supplierInvoice", 201, None)


def test_visma_paths_are_case_insensitive_with_legacy_prefix(visma: SpecValidator) -> None:
    """/API/controller/api/v1/SUPPLIERINVOICE/... matches /v1/supplierInvoice/{invoiceNumber}."""
    path = "/API/controller/api/v1/SUPPLIERINVOICE/000123?EXPANDNOTE=true"
    template, _ = visma.find_operation("GET", path)
    assert template == "/v1/supplierInvoice/{invoiceNumber}"
    visma.validate_request("get", path.replace("EXPANDNOTE", "expandLandedCosts"), None)
    visma.validate_response("GET", path, 200, {"date": "2026-08-03T00:00:00", "amount": 12.5})


def test_visma_int32_query_bounds(visma: SpecValidator) -> None:
    """pageSize is int32: values past 2**31 - 1 fail, ordinary ones pass."""
    visma.validate_request("GET", "/v1/supplierInvoice?pageSize=500&pageNumber=1", None)
    message = failure(
        visma.validate_request, "GET", "/v1/supplierInvoice?pageSize=9999999999", None
    )
    assert "query parameter 'pageSize'" in message


def test_legacy_subscription_post_validates(legacy: SpecValidator) -> None:
    """The Swagger 2.0 subscription POST checks its body and its 201 reply."""
    path = "/API/resources/v1/subscription"
    body = {"event": "supplierinvoice_changed", "hookUri": "https://hooks.example/visma"}
    legacy.validate_request("POST", path, body)
    legacy.validate_response("POST", path, 201, {"id": 660, **body})
    message = failure(legacy.validate_request, "POST", path, {"event": "x"})
    assert "'hookUri' is a required property" in message
    message = failure(legacy.validate_response, "POST", path, 201, {"id": "660", **body})
    assert "at /id: '660' is not of type 'integer'" in message


def test_legacy_controller_paths_match_with_base_path(legacy: SpecValidator) -> None:
    """Legacy controller paths match with and without the /API base path, in any case."""
    for path in (
        "/API/controller/api/v1/supplierInvoice/1",
        "/controller/api/v1/SupplierInvoice/1",
    ):
        template, _ = legacy.find_operation("GET", path)
        assert template == "/controller/api/v1/supplierInvoice/{invoiceNumber}"


# -- reading rules on tiny inline specs -----------------------------------------------------


def tiny_spec(schema: dict[str, Any]) -> SpecValidator:
    """A one-operation OpenAPI 3.0 spec: POST /things takes and returns `schema`."""
    media = {"application/json": {"schema": schema}}
    operation = {
        "operationId": "create_thing",
        "requestBody": {"required": True, "content": media},
        "responses": {"201": {"description": "made", "content": media}},
    }
    return SpecValidator("tiny", {"openapi": "3.0.3", "paths": {"/things": {"post": operation}}})


def test_read_only_fields_are_required_only_in_responses() -> None:
    """A required readOnly `id` may be left out of the request but not the response."""
    spec = tiny_spec(
        {
            "type": "object",
            "required": ["id", "name"],
            "properties": {"id": {"type": "string", "readOnly": True}, "name": {"type": "string"}},
        }
    )
    spec.validate_request("POST", "/things", {"name": "a"})
    message = failure(spec.validate_response, "POST", "/things", 201, {"name": "a"})
    assert "'id' is a required property" in message


def test_discriminated_one_of_and_nullable_enum() -> None:
    """A oneOf with a discriminator passes when any branch fits; nullable enums accept null."""
    spec = tiny_spec(
        {
            "type": "object",
            "properties": {
                "kind": {"type": "string", "enum": ["A", "B"], "nullable": True},
                "detail": {
                    "discriminator": {"propertyName": "schema_type"},
                    "oneOf": [
                        {"type": "object", "properties": {"n": {"type": "integer"}}},
                        {"type": "object", "properties": {"n": {"type": "number"}}},
                    ],
                },
            },
        }
    )
    spec.validate_request("POST", "/things", {"kind": None, "detail": {"n": 3}})
    message = failure(spec.validate_request, "POST", "/things", {"kind": "C", "detail": {}})
    assert "at /kind:" in message


def test_swagger_x_nullable_and_query_parameters() -> None:
    """Swagger 2.0 `x-nullable` allows null, and plain query parameters get checked."""
    operation = {
        "parameters": [
            {"name": "top", "in": "query", "type": "integer", "format": "int32", "maximum": 50},
            {"name": "body", "in": "body", "required": True, "schema": {"$ref": "#/definitions/T"}},
        ],
        "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/T"}}},
    }
    definitions = {"T": {"properties": {"note": {"type": "string", "x-nullable": True}}}}
    document = {"swagger": "2.0", "paths": {"/t": {"put": operation}}, "definitions": definitions}
    spec = SpecValidator("visma-legacy", document)
    spec.validate_request("PUT", "/API/t?top=50", {"note": None})
    spec.validate_response("PUT", "/t", 200, {"note": None})
    assert "at /note:" in failure(spec.validate_response, "PUT", "/t", 200, {"note": 1})
    message = failure(spec.validate_request, "PUT", "/t?top=51", "not an object")
    assert "query parameter 'top' at (root): 51 is greater than the maximum of 50" in message
    assert "request body at (root): 'not an object' is not of type 'object'" in message


# -- recording and httpx exchanges -----------------------------------------------------------


def fake_ramp(request: httpx.Request) -> httpx.Response:
    """A two-route stand-in for the Ramp sandbox."""
    if request.method == "GET" and request.url.path == BILL_PATH:
        return httpx.Response(200, json=bill())
    if request.method == "PATCH":
        return httpx.Response(200, json=bill(memo=json.loads(request.content)["memo"]))
    return httpx.Response(200, json={"unexpected": True})


async def test_recording_transport_keeps_both_bodies() -> None:
    """Exchanges are recorded in order with request and response bodies still readable."""
    recorder = RecordingTransport(httpx.MockTransport(fake_ramp))
    async with httpx.AsyncClient(transport=recorder, base_url="https://api.ramp.com") as client:
        first = await client.get(BILL_PATH)
        async with client.stream("PATCH", BILL_PATH, json={"memo": "chairs"}) as streamed:
            await streamed.aread()
    assert first.json()["id"] == BILL_ID
    assert [r.method for r, _ in recorder.exchanges] == ["GET", "PATCH"]
    request, response = recorder.exchanges[1]
    assert json.loads(request.content) == {"memo": "chairs"}
    assert response.json()["memo"] == "chairs"
    assert len(recorder.requests_to("patch", BILL_PATH)) == 1


async def test_recording_transport_skips_failed_requests() -> None:
    """A transport error propagates and leaves nothing recorded."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    recorder = RecordingTransport(httpx.MockTransport(refuse))
    async with httpx.AsyncClient(transport=recorder) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("https://api.ramp.com/developer/v1/bills")
    assert recorder.exchanges == []


async def test_httpx_exchanges_validate(ramp: SpecValidator) -> None:
    """Recorded exchanges validate; a mismatching one reports request and response problems."""
    recorder = RecordingTransport(httpx.MockTransport(fake_ramp))
    async with httpx.AsyncClient(transport=recorder, base_url="https://api.ramp.com") as client:
        await client.get(BILL_PATH)
        await client.get("/developer/v1/bills", params={"page_size": "many"})
    good, bad = recorder.exchanges
    ramp.validate_httpx_exchange(*good)
    message = failure(ramp.validate_httpx_exchange, *bad)
    assert "query parameter 'page_size'" in message
    assert "'page' is a required property" in message
