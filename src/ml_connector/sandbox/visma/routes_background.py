"""Release actions and the background API: ``GET /v1/background/{requestId}[/content]``.

``release_answer`` is how every release route answers once its synchronous checks (the
document exists, ``If-Match``) passed:

- ``release`` ``"background"`` (the default, the current spec): 202
  ``BackgroundApiAcceptedDto`` ``{"id", "stateLocation"}``; the work runs later
  (``background.py``) and its outcome is read from the request's state;
- ``release`` ``"legacy"`` (the 9.11 spec): 200 ``{"actionId", "actionResult"}``. With
  ``background_steps`` 0 the work runs at once and the result is ``Done``, or ``Failed`` with
  ``errorInfo`` when the ERP refuses; otherwise the result is ``Queued`` and only the document
  tells, later, whether it was released.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from ml_connector.sandbox.visma.background import KEPT_FOR, BackgroundRequest, Work
from ml_connector.sandbox.visma.responses import ApiError, json_response
from ml_connector.sandbox.visma.routing import ApiRequest, Router

__all__ = ["register", "release_answer"]


def release_answer(request: ApiRequest, original_uri: str, work: Work) -> Response:
    """The answer to a release action whose synchronous checks passed (module docstring)."""
    behaviour, company = request.behaviour, request.company
    queue, now = company.background, company.now()
    if behaviour.release == "legacy":
        action_id = str(uuid.uuid4())
        if behaviour.background_steps:
            queue.submit(original_uri, work, steps=behaviour.background_steps, now=now)
            return json_response({"actionId": action_id, "actionResult": "Queued"})
        try:
            work()
        except ApiError as refusal:
            text = str((refusal.body or {}).get("message", ""))
            result = {"actionId": action_id, "actionResult": "Failed", "errorInfo": text}
            return json_response(result)
        return json_response({"actionId": action_id, "actionResult": "Done"})
    accepted = queue.submit(original_uri, work, steps=behaviour.background_steps, now=now)
    location = request.url("v1", "background", accepted.id)
    return json_response({"id": accepted.id, "stateLocation": location}, status=202)


def state_dto(request: ApiRequest, background: BackgroundRequest) -> dict[str, Any]:
    """``BackgroundRequestStateDto``."""
    has_content = background.content is not None
    dto: dict[str, Any] = {
        "id": background.id,
        "status": background.status,
        "statusCode": background.status_code,
        "receivedUtc": background.received,
        "webhookAddress": "none",
        "originalUri": background.original_uri,
        "hasResponseContent": has_content,
        "hasRequestContent": False,
        "responseHeaders": {},
    }
    if background.started is not None:
        dto["startedUtc"] = background.started
    if background.finished is not None:
        dto["finishedUtc"] = background.finished
    if background.error_message is not None:
        dto["errorMessage"] = background.error_message
    if has_content:
        dto["contentLocation"] = request.url("v1", "background", background.id, "content")
    return dto


def get_state(request: ApiRequest) -> Response:
    company = request.company
    found = company.background.find(request.params["requestId"], company.now())
    if found is None:
        raise ApiError.not_found("No background operation state was found.")
    return json_response(state_dto(request, found))


def get_content(request: ApiRequest) -> Response:
    company = request.company
    wanted = request.params["requestId"]
    kept = company.background.requests.get(wanted)
    if kept is not None and company.now() - kept.received > KEPT_FOR:
        raise ApiError(
            410, {"message": "State for background operation has been removed after 24 hours."}
        )
    if kept is None or kept.content is None:
        raise ApiError.not_found("No background operation response content was found.")
    return json_response(kept.content)  # 200: the stored body (the status is in the state)


def register(router: Router) -> None:
    router.add("GET", "/v1/background/{requestId}", get_state)
    router.add("GET", "/v1/background/{requestId}/content", get_content)
