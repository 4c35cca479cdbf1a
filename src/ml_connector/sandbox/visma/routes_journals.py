"""``/v2/journaltransaction``: list, read, create, update, release and attachments.

- ``POST`` → 201, empty body, ``Location: …/v2/journaltransaction/{batchNumber}`` and ``ETag``;
  ``PUT /{n}`` → 204 (``If-Match`` optional, 412 on a stale one); ``GET /{n}`` with ``ETag``
  and the attachments.
- ``GET`` lists batches of the general ledger and filters what the spec declares: ``periodId``
  (YYYYPP) or ``lastModifiedDateTime`` is mandatory (400 without either, as the spec says);
  ``module``, ``status``, ``branch``, ``releasedBatch`` (deprecated), ``expandAttachments``.
  ``lastModifiedDateTime`` alone means "modified since" (the spec: "all records that have been
  modified since that time, up to the present"); with ``lastModifiedDateTimeCondition`` (the
  reference's pattern for other lists) the operator applies instead.
- Paging counts **lines**, as the spec says of this endpoint ("pagesize and totalcount denotes
  number of journaltransaction lines … the transactions for one specific batch can be split
  into several responses"): ``metadata.totalCount`` is the number of lines, and a batch whose
  lines straddle a page boundary appears on both pages with the lines of each. A batch without
  lines takes one place.
- ``POST /{n}/action/release`` answers like every release (202 and a background request, or
  the 9.11 ``actionResult`` with ``release="legacy"``; ``routes_background``).
- ``POST /module/{module}/{n}[/{lineNumber}]/attachment``: one file per request (multipart),
  201 with ``Location: …/v1/attachment/{id}``; the module is ``GL`` (``ModuleGL`` accepted).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.attachments import store_attachment
from ml_connector.sandbox.visma.journal_state import (
    RELEASED_BATCH_STATUSES,
    JournalLine,
    JournalTransaction,
)
from ml_connector.sandbox.visma.journals import (
    JOURNAL_TRANSACTION_WRITE,
    LEDGERS,
    apply_journal_update,
    create_journal,
    release_journal,
)
from ml_connector.sandbox.visma.listing import (
    Query,
    date_condition,
    paginate,
    parse_bool,
    with_metadata,
)
from ml_connector.sandbox.visma.responses import ApiError, etag_header, json_response
from ml_connector.sandbox.visma.routes_background import release_answer
from ml_connector.sandbox.visma.routing import ApiRequest, Router
from ml_connector.sandbox.visma.state import CompanyState
from ml_connector.sandbox.visma.views import attachment_dto, project_ref, subaccount_ref, task_ref
from ml_connector.sandbox.visma.wrappers import unwrap

__all__ = ["journal_dto", "register"]

_MODULES = frozenset({"GL", "AP", "AR", "CM", "CA", "IN", "DR", "FA", "PM"})
_STATUSES = ("Hold", "Balanced", "Unposted", "Posted", "Voided", "Scheduled")


def journal_dto(
    company: CompanyState,
    batch: JournalTransaction,
    *,
    attachments: bool,
    lines: list[JournalLine] | None = None,
) -> dict[str, Any]:
    """``JournalTransactionDto``; ``lines`` narrows the lines shown (a page of a list)."""
    debit, credit, debit_base, credit_base = batch.totals()
    period = batch.financial_period
    dto: dict[str, Any] = {
        "module": f"Module{batch.module}",
        "batchNumber": batch.batch_number,
        "status": batch.status,
        "hold": batch.hold,
        "transactionDate": batch.transaction_date,
        "postPeriod": period[4:] + period[:4],
        "financialPeriod": period,
        "ledger": batch.ledger,
        "ledgerDescription": LEDGERS.get(batch.ledger, batch.ledger),
        "currencyId": batch.currency_id,
        "exchangeRate": batch.exchange_rate,
        "autoReversing": batch.auto_reversing,
        "reversingEntry": False,
        "debitTotal": debit_base,
        "debitTotalInCurrency": debit,
        "creditTotal": credit_base,
        "creditTotalInCurrency": credit,
        "controlTotal": batch.control_total * batch.exchange_rate
        if batch.control_total is not None
        else debit_base,
        "controlTotalInCurrency": batch.control_total if batch.control_total is not None else debit,
        "createVatTransaction": batch.create_vat_transaction,
        "skipVatAmountValidation": batch.skip_vat_amount_validation,
        "lastModifiedDateTime": batch.last_modified,
        "journalTransactionLines": [
            _line_dto(company, batch, line, attachments=attachments)
            for line in (batch.lines if lines is None else lines)
        ],
    }
    for key, value in (
        ("description", batch.description),
        ("branch", batch.branch),
        ("transactionCode", batch.transaction_code),
    ):
        if value is not None:
            dto[key] = value
    if attachments:
        dto["attachments"] = [attachment_dto(a) for a in batch.attachments if a.line_number is None]
    return dto


def _line_dto(
    company: CompanyState, batch: JournalTransaction, line: JournalLine, *, attachments: bool
) -> dict[str, Any]:
    dto: dict[str, Any] = {
        "lineNumber": line.line_number,
        "accountNumber": line.account,
        "subaccount": subaccount_ref(company, line.segments),
        "debitAmount": line.debit_base,
        "debitAmountInCurrency": line.debit,
        "creditAmount": line.credit_base,
        "creditAmountInCurrency": line.credit,
        "module": f"Module{batch.module}",
    }
    if line.description is not None:
        dto["description"] = line.description
        dto["transactionDescription"] = line.description
    for key, value in (
        ("referenceNumber", line.reference_number),
        ("branch", line.branch),
        ("uom", line.uom),
        ("quantity", line.quantity),
        ("note", line.note),
    ):
        if value is not None:
            dto[key] = value
    for key, code in (("vatCode", line.vat_code), ("vat", line.vat_id)):
        if code is not None:
            vat = company.vat_codes.get(code)
            dto[key] = {"id": code, "description": vat.description if vat else ""}
    if line.project is not None:
        dto["project"] = project_ref(company, line.project)
    if line.project_task is not None:
        dto["projectTask"] = task_ref(company, line.project, line.project_task)
    if attachments:
        dto["attachments"] = [
            attachment_dto(a) for a in batch.attachments if a.line_number == line.line_number
        ]
    return dto


def _find(request: ApiRequest) -> JournalTransaction:
    number = request.params["journalTransactionNumber"]
    batch = request.company.journals.get(number)
    if batch is None:
        raise ApiError.not_found(f"Journal transaction {number} was not found.")
    return batch


def _modified(query: Query) -> Callable[[datetime | None], bool] | None:
    """``lastModifiedDateTime`` alone: modified since then; with its condition: as it says."""
    raw = query.get("lastModifiedDateTime")
    if raw is not None and query.get("lastModifiedDateTimeCondition") is None:
        query = Query([("lastModifiedDateTime", raw), ("lastModifiedDateTimeCondition", ">=")])
    return date_condition(query, "lastModifiedDateTime")


def list_journals(request: ApiRequest) -> Response:
    query, company = request.query, request.company
    period = query.get("periodId")
    modified = _modified(query)
    if period is None and modified is None:
        raise ApiError.bad_request(
            "Error: periodId is mandatory when lastModifiedDateTime is not given."
        )
    module = query.get("module")
    if module is not None and module.upper() not in _MODULES:
        raise ApiError.bad_request(
            f"The request is invalid. The value '{module}' is not valid for module."
        )
    status = query.get("status")
    if status is not None and status.lower() not in {s.lower() for s in _STATUSES}:
        raise ApiError.bad_request(
            f"The request is invalid. The value '{status}' is not valid for status."
        )
    released = parse_bool(query, "releasedBatch")
    branch = query.get("branch")

    def keep(batch: JournalTransaction) -> bool:
        return (
            (period is None or batch.financial_period == period)
            and (modified is None or modified(batch.last_modified))
            and (module is None or batch.module == module.upper())
            and (status is None or batch.status.lower() == status.lower())
            and (released is None or (batch.status in RELEASED_BATCH_STATUSES) == released)
            and (branch is None or batch.branch == branch)
        )

    batches = [b for b in company.journals.values() if keep(b)]
    rows: list[tuple[JournalTransaction, JournalLine | None]] = []
    for batch in batches:
        if batch.lines:
            rows.extend((batch, line) for line in batch.lines)
        else:
            rows.append((batch, None))
    page, paging = paginate(rows, query, request.max_page_size)
    expand = parse_bool(query, "expandAttachments") or False
    dtos: list[dict[str, Any]] = []
    shown: list[tuple[JournalTransaction, list[JournalLine]]] = []
    for batch, line in page:
        if not shown or shown[-1][0] is not batch:
            shown.append((batch, []))
        if line is not None:
            shown[-1][1].append(line)
    for batch, lines in shown:
        dtos.append(journal_dto(company, batch, attachments=expand, lines=lines))
    return json_response(with_metadata(dtos, len(rows), paging.max_size))


def get_journal(request: ApiRequest) -> Response:
    batch = _find(request)
    dto = journal_dto(request.company, batch, attachments=True)
    return json_response(dto, headers={"ETag": etag_header(batch.version)})


def post_journal(request: ApiRequest) -> Response:
    company = request.company
    batch = create_journal(company, unwrap(request.json(), JOURNAL_TRANSACTION_WRITE))
    company.touch(batch)
    company.journals[batch.batch_number] = batch
    location = request.url("v2", "journaltransaction", batch.batch_number)
    return Response(
        status_code=201, headers={"Location": location, "ETag": etag_header(batch.version)}
    )


def put_journal(request: ApiRequest) -> Response:
    company = request.company
    batch = _find(request)
    request.require_version(batch.version, "JournalTransaction")
    apply_journal_update(company, batch, unwrap(request.json(), JOURNAL_TRANSACTION_WRITE))
    company.touch(batch)
    location = request.url("v2", "journaltransaction", batch.batch_number)
    return Response(
        status_code=204, headers={"ETag": etag_header(batch.version), "Location": location}
    )


def release_journal_action(request: ApiRequest) -> Response:
    batch = _find(request)
    company = request.company
    post = request.behaviour.post_on_release

    def work() -> None:
        release_journal(company, batch, post_on_release=post)
        company.touch(batch)
        request.events.publish(
            company,
            "JournalTransaction",
            "StatusChanged",
            batch.batch_number,
            f"v2/journaltransaction/{batch.batch_number}",
        )

    uri = request.url("v2", "journaltransaction", batch.batch_number, "action", "release")
    return release_answer(request, uri, work)


def post_attachment(request: ApiRequest) -> Response:
    batch = _find(request)
    module = request.params["module"].upper().removeprefix("MODULE")
    if module != batch.module:
        raise ApiError.not_found(
            f"Journal transaction {batch.batch_number} was not found in module {module}."
        )
    line_number: int | None = None
    if "lineNumber" in request.params:
        raw = request.params["lineNumber"]
        if not raw.isdigit() or all(ln.line_number != int(raw) for ln in batch.lines):
            raise ApiError.not_found(f"Line {raw} of batch {batch.batch_number} not found.")
        line_number = int(raw)
    attachment = store_attachment(batch.attachments, request.files, line_number)
    return Response(
        status_code=201, headers={"Location": request.url("v1", "attachment", attachment.id)}
    )


def register(router: Router) -> None:
    base = "/v2/journaltransaction"
    one = f"{base}/{{journalTransactionNumber}}"
    router.add("GET", base, list_journals)
    router.add("POST", base, post_journal)
    router.add("GET", one, get_journal)
    router.add("PUT", one, put_journal)
    router.add("POST", f"{one}/action/release", release_journal_action, scope="update")
    target = f"{base}/module/{{module}}/{{journalTransactionNumber}}"
    router.add("POST", f"{target}/attachment", post_attachment)
    router.add("POST", f"{target}/{{lineNumber}}/attachment", post_attachment)
