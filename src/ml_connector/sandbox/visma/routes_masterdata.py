"""Master data: accounts, the SUBACCOUNT dimension and its segments, subaccounts, projects, VAT
codes, financial periods and currencies.

Which lists page: the spec gives ``/v1/subaccount`` and ``/v1/project`` paging parameters; the
others (``/v1/account``, ``/v1/vat``, ``/v1/financialPeriod``, ``/v1/currency``,
``/v1/dimension``) have none and answer everything (unknown parameters are ignored, as Visma
does). Records whose DTO declares ``metadata`` carry it on lists.

Writes: ``POST /v1/account`` (201 + Location), ``PUT /v1/account/{accountCd}`` (204) and
``PUT /v1/dimension/{dimensionId}/{segmentId}`` with segment value operations (204). Each raises
the matching notification (Account Created/Updated, Segment ValueChanged).
"""

from __future__ import annotations

import base64
import binascii

from starlette.responses import Response

from ml_connector.sandbox.visma.listing import (
    date_condition,
    paginate,
    parse_bool,
    select,
    with_metadata,
)
from ml_connector.sandbox.visma.responses import ApiError, json_response
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.state import Account, Segment, SegmentValue
from ml_connector.sandbox.visma.supplier_setup import SUPPLIER_DIMENSION, supplier_dimension
from ml_connector.sandbox.visma.views import (
    account_dto,
    period_dto,
    project_dto,
    segment_dto,
    segment_value_dto,
    subaccount_dto,
    vat_dto,
)
from ml_connector.sandbox.visma.wrappers import ACCOUNT_WRITE, SEGMENT_WRITE, unwrap

__all__ = ["SUBACCOUNT_DIMENSION", "register"]

SUBACCOUNT_DIMENSION = "SUBACCOUNT"


# -- accounts ---------------------------------------------------------------------------------


def list_accounts(request: ApiRequest) -> Response:
    query = request.query
    active = parse_bool(query, "active")
    above = query.get("greaterThanValue")
    modified = date_condition(query, "lastModifiedDateTime")
    records = select(
        sorted(request.company.accounts.values(), key=lambda a: a.number),
        (lambda a: a.active == active) if active is not None else None,
        (lambda a: a.number > above) if above else None,
        (lambda a: modified(a.last_modified)) if modified else None,
    )
    dtos = [account_dto(account) for account in records]
    return json_response(with_metadata(dtos, len(records), request.max_page_size))


def get_account(request: ApiRequest) -> Response:
    account = request.company.accounts.get(request.params["accountCd"])
    if account is None:
        raise ApiError.not_found(f"Account {request.params['accountCd']} was not found.")
    return json_response(account_dto(account))


def post_account(request: ApiRequest) -> Response:
    company = request.company
    data = unwrap(request.json(), ACCOUNT_WRITE)
    number = data.get("accountCD")
    if not number:
        raise ApiError.bad_request("Error: 'Account' (accountCD) cannot be empty.")
    if number in company.accounts:
        raise ApiError.bad_request(f"Error: Account {number} already exists.")
    if not data.get("type"):
        raise ApiError.bad_request("Error: 'Type' cannot be empty.")
    account = Account(
        account_id=company.next_internal_id(),
        number=number,
        description=data.get("description") or number,
        type=data["type"],
        active=data.get("active") is not False,
        default_vat=data.get("taxCategory"),
    )
    company.touch(account)
    company.accounts[number] = account
    request.events.publish(company, "Account", "Created", number, f"v1/account/{number}")
    return Response(status_code=201, headers={"Location": request.url("v1", "account", number)})


def put_account(request: ApiRequest) -> Response:
    company = request.company
    account = company.accounts.get(request.params["accountCd"])
    if account is None:
        raise ApiError.not_found(f"Account {request.params['accountCd']} was not found.")
    data = unwrap(request.json(), ACCOUNT_WRITE)
    if data.get("description"):
        account.description = data["description"]
    if data.get("active") is not None:
        account.active = data["active"]
    if data.get("type"):
        account.type = data["type"]
    if "taxCategory" in data:
        account.default_vat = data["taxCategory"]
    company.touch(account)
    request.events.publish(
        company, "Account", "Updated", account.number, f"v1/account/{account.number}"
    )
    return Response(status_code=204)


# -- dimension, segments, subaccounts ---------------------------------------------------------


def list_dimensions(request: ApiRequest) -> Response:
    return json_response([SUBACCOUNT_DIMENSION, SUPPLIER_DIMENSION])


def _segment(request: ApiRequest) -> Segment:
    if request.params["dimensionId"].upper() != SUBACCOUNT_DIMENSION:
        raise ApiError.not_found(f"Dimension {request.params['dimensionId']} was not found.")
    raw = request.params["segmentId"]
    segment = request.company.segments.get(int(raw)) if raw.isdigit() else None
    if segment is None:
        raise ApiError.not_found(f"Segment {raw} was not found in dimension SUBACCOUNT.")
    return segment


def get_dimension(request: ApiRequest) -> Response:
    if request.params["dimensionId"].upper() == SUPPLIER_DIMENSION:
        return json_response(supplier_dimension(request.company.supplier_setup))
    if request.params["dimensionId"].upper() != SUBACCOUNT_DIMENSION:
        raise ApiError.not_found(f"Dimension {request.params['dimensionId']} was not found.")
    expand = parse_bool(request.query, "expandSegmentsValues") is True
    modified = date_condition(request.query, "lastModifiedDateTime")
    segments = [request.company.segments[key] for key in sorted(request.company.segments)]
    dtos = []
    for segment in segments:
        values = select(
            segment.values.values(), (lambda v: modified(v.last_modified)) if modified else None
        )
        dtos.append(segment_dto(segment, values if expand else None))
    return json_response(
        {
            "id": SUBACCOUNT_DIMENSION,
            "length": sum(segment.length for segment in segments),
            "description": "Subaccount",
            "segments": dtos,
        }
    )


def get_segment(request: ApiRequest) -> Response:
    segment = _segment(request)
    return json_response(segment_dto(segment, list(segment.values.values())))


def get_segment_value(request: ApiRequest) -> Response:
    segment = _segment(request)
    raw = request.params["valueId"]
    try:
        padded = raw + "=" * (-len(raw) % 4)
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (binascii.Error, UnicodeDecodeError):
        decoded = raw
    # The spec asks for base64; a plain value id is accepted too.
    value = segment.values.get(decoded) or segment.values.get(raw)
    if value is None:
        raise ApiError.not_found(f"Segment value {raw} was not found.")
    return json_response(segment_value_dto(value))


def put_segment(request: ApiRequest) -> Response:
    company = request.company
    segment = _segment(request)
    data = unwrap(request.json(), SEGMENT_WRITE)
    rows = data.get("segmentValues") or []
    for index, row in enumerate(rows, start=1):
        operation, value_id = row.get("operation"), row.get("value")
        if operation is None or not value_id:
            raise ApiError.bad_request(f"Error: Segment value {index}: operation and value needed.")
        if len(value_id) > segment.length:
            raise ApiError.bad_request(
                f"Error: Value '{value_id}' is longer than the segment allows ({segment.length})."
            )
        existing = segment.values.get(value_id)
        if operation == "Insert" and existing is not None:
            raise ApiError.bad_request(f"Error: Segment value '{value_id}' already exists.")
        if operation != "Insert" and existing is None:
            raise ApiError.bad_request(f"Error: Segment value '{value_id}' was not found.")
    for row in rows:
        operation, value_id = row["operation"], row["value"]
        if operation == "Delete":
            del segment.values[value_id]
            continue
        value = segment.values.get(value_id) or SegmentValue(
            segment.segment_id, value_id, value_id, True
        )
        if row.get("description") is not None:
            value.description = row["description"]
        if row.get("active") is not None:
            value.active = row["active"]
        segment.values[value_id] = value
        company.touch(value)
    if data.get("description"):
        segment.description = data["description"]
    company.touch(segment)
    for row in rows:
        request.events.publish(
            company,
            "Segment",
            "ValueChanged",
            f"{segment.segment_id}/{row['value']}",
            f"v1/dimension/{SUBACCOUNT_DIMENSION}/{segment.segment_id}",
        )
    return Response(status_code=204)


def list_subaccounts(request: ApiRequest) -> Response:
    query = request.query
    active = parse_bool(query, "active")
    modified = date_condition(query, "lastModifiedDateTime")
    records = select(
        sorted(request.company.subaccounts.values(), key=lambda s: s.number),
        (lambda s: s.active == active) if active is not None else None,
        (lambda s: modified(s.last_modified)) if modified else None,
    )
    page, paging = paginate(records, query, request.max_page_size)
    dtos = [subaccount_dto(request.company, subaccount) for subaccount in page]
    return json_response(with_metadata(dtos, len(records), paging.max_size))


def get_subaccount(request: ApiRequest) -> Response:
    subaccount = request.company.subaccounts.get(request.params["subAccountNumber"])
    if subaccount is None:
        raise ApiError.not_found(f"Subaccount {request.params['subAccountNumber']} was not found.")
    return json_response(subaccount_dto(request.company, subaccount))


# -- projects, VAT, periods, currencies -------------------------------------------------------


def list_projects(request: ApiRequest) -> Response:
    query = request.query
    status = query.get("status")
    visible_in_ap = parse_bool(query, "visibleInAP")
    non_project = parse_bool(query, "nonProject")
    modified = date_condition(query, "lastModifiedDateTime")
    records = select(
        sorted(request.company.projects.values(), key=lambda p: p.project_id),
        (lambda p: p.status.lower() == status.lower()) if status else None,
        (lambda p: p.visible_in_ap == visible_in_ap) if visible_in_ap is not None else None,
        (lambda p: p.non_project == non_project) if non_project is not None else None,
        (lambda p: modified(p.last_modified)) if modified else None,
    )
    page, paging = paginate(records, query, request.max_page_size)
    dtos = [project_dto(project) for project in page]
    return json_response(with_metadata(dtos, len(records), paging.max_size))


def get_project(request: ApiRequest) -> Response:
    project = request.company.projects.get(request.params["projectID"])
    if project is None:
        raise ApiError.not_found(f"Project {request.params['projectID']} was not found.")
    return json_response(project_dto(project))


def list_vat(request: ApiRequest) -> Response:
    modified = date_condition(request.query, "lastModifiedDateTime")
    records = select(
        sorted(request.company.vat_codes.values(), key=lambda v: v.vat_id),
        (lambda v: modified(v.last_modified)) if modified else None,
    )
    return json_response([vat_dto(vat) for vat in records])


def get_vat(request: ApiRequest) -> Response:
    vat = request.company.vat_codes.get(request.params["vatId"])
    if vat is None:
        raise ApiError.not_found(f"VAT {request.params['vatId']} was not found.")
    return json_response(vat_dto(vat))


def list_periods(request: ApiRequest) -> Response:
    above = request.query.get("greaterThanValue")
    periods = sorted(request.company.periods.values(), key=lambda p: p.period_id)
    return json_response([period_dto(p) for p in periods if above is None or p.period_id > above])


def get_period(request: ApiRequest) -> Response:
    period = request.company.periods.get(request.params["financialPeriodId"])
    if period is None:
        raise ApiError.not_found(
            f"Financial period {request.params['financialPeriodId']} was not found."
        )
    return json_response(period_dto(period))


def list_currencies(request: ApiRequest) -> Response:
    company = request.company
    return json_response([_currency_dto(request, code) for code in sorted(company.currencies)])


def get_currency(request: ApiRequest) -> Response:
    code = request.params["curyId"]
    if code not in request.company.currencies:
        raise ApiError.not_found(f"Currency {code} was not found.")
    return json_response(_currency_dto(request, code))


def _currency_dto(request: ApiRequest, code: str) -> dict[str, object]:
    company = request.company
    return {
        "id": code,
        "description": company.currencies[code],
        "isBaseCurrency": code == company.base_currency,
        "decimalPrecision": 2,
        "isUsedForAccounting": True,
    }


def register(router: Router) -> None:
    router.add("GET", "/v1/account", list_accounts)
    router.add("POST", "/v1/account", post_account)
    router.add("GET", "/v1/account/{accountCd}", get_account)
    router.add("PUT", "/v1/account/{accountCd}", put_account)
    router.add("GET", "/v1/dimension", list_dimensions)
    router.add("GET", "/v1/dimension/{dimensionId}", get_dimension)
    router.add("GET", "/v1/dimension/{dimensionId}/{segmentId}", get_segment)
    router.add("PUT", "/v1/dimension/{dimensionId}/{segmentId}", put_segment)
    router.add("GET", "/v1/dimension/{dimensionId}/{segmentId}/{valueId}", get_segment_value)
    router.add("GET", "/v1/subaccount", list_subaccounts)
    router.add("GET", "/v1/subaccount/{subAccountNumber}", get_subaccount)
    router.add("GET", "/v1/project", list_projects)
    router.add("GET", "/v1/project/{projectID}", get_project)
    router.add("GET", "/v1/vat", list_vat)
    router.add("GET", "/v1/vat/{vatId}", get_vat)
    router.add("GET", "/v1/financialPeriod", list_periods)
    router.add("GET", "/v1/financialPeriod/{financialPeriodId}", get_period)
    router.add("GET", "/v1/currency", list_currencies)
    router.add("GET", "/v1/currency/{curyId}", get_currency)
