"""Release answers and background requests as the Visma client reads them."""

from __future__ import annotations

from collections.abc import Callable

from clients_inline import Inbox, TokenEndpoint
from starlette.responses import JSONResponse, Response
from test_clients_visma import app_with

from ml_connector.clients import VismaClient
from ml_connector.clients._classify import validation_in_server_error

RELEASE = "POST /v1/supplierPayment/000045/action/release"


async def test_a_202_release_is_a_background_request_to_poll(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """202 {id, stateLocation}: background_id set, no action result; the 9.11 200 the reverse."""
    accepted = {"id": "bg-1", "stateLocation": "http://visma.test/v1/background/bg-1"}
    routes = {
        RELEASE: lambda r: JSONResponse(accepted, status_code=202),
        "POST /v1/supplierPayment/000046/action/release": lambda r: JSONResponse(
            {"actionId": "a-9", "actionResult": "Failed", "errorInfo": "Period closed"}
        ),
    }
    visma = make_visma(app_with(visma_token, inbox, routes))
    background = await visma.release_supplier_payment("000045")
    legacy = await visma.release_supplier_payment("000046")
    assert (background.background_id, background.action_result) == ("bg-1", None)
    assert (legacy.background_id, legacy.action_result, legacy.error_info) == (
        None,
        "Failed",
        "Period closed",
    )
    (call,) = inbox.to("/v1/supplierPayment/000045/action/release")
    assert call.json() == {"type": {"value": "Payment"}}


async def test_background_state_and_content_are_read_and_may_be_gone(
    inbox: Inbox, visma_token: TokenEndpoint, make_visma: Callable[..., VismaClient]
) -> None:
    """The state parses (Finished 400 is not a success); 404 state and 410 content are None."""
    state = {"id": "bg-2", "status": "Finished", "statusCode": 400, "hasResponseContent": True}
    routes = {
        "GET /v1/background/bg-2": lambda r: JSONResponse(state),
        "GET /v1/background/bg-2/content": lambda r: JSONResponse({"message": "VismaId: x. No"}),
        "GET /v1/background/old": lambda r: JSONResponse({"message": "gone"}, status_code=404),
        "GET /v1/background/old/content": lambda r: Response(b"", status_code=410),
    }
    visma = make_visma(app_with(visma_token, inbox, routes))
    read = await visma.get_background_state("bg-2")
    assert read is not None
    assert (read.finished, read.succeeded, read.has_response_content) == (True, False, True)
    assert await visma.get_background_content("bg-2") == {"message": "VismaId: x. No"}
    assert await visma.get_background_state("old") is None
    assert await visma.get_background_content("old") is None


def test_only_a_specific_visma_message_in_a_5xx_counts_as_validation() -> None:
    """Generic server and gateway texts, HTML and Ramp's answers carry no validation."""
    said = "VismaId: 1f. Error: Account '6552' is inactive."
    assert validation_in_server_error("Visma", said) == said
    for generic in ("An error has occurred.", "Internal Server Error", "", "<html>502</html>"):
        assert validation_in_server_error("Visma", generic) is None
    assert validation_in_server_error("Ramp", said) is None
