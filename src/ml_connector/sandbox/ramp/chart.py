"""The accounting chart inside a Ramp business: GL accounts, custom fields and their options.

Coding arrives in two forms. The public API takes ERP ids (``field_external_id`` +
``field_option_external_id``) and refuses unknown or inactive ones. The sandbox's own control
surface and the seed loader take the same ERP ids but create missing accounts, fields and
options on demand, so a test can code a bill to an account the ERP has never heard of.

GL accounts are not a custom field in Ramp; they hang off a built-in category whose ERP id is
``state.gl_category_id`` (``seed.FIELD_GL_ACCOUNT`` unless a seeded customer chart names its
own, e.g. "Category"). A selection's ``category_info.type`` is ``GL_ACCOUNT`` for them; for
custom fields it is the field's own type when one was seeded, else inferred from the field's
ERP id for the ids the chart push uses (cost centre, project, VAT), else ``OTHER`` (a
documented guess).
"""

from __future__ import annotations

from collections.abc import Callable

from ml_connector.sandbox import seed
from ml_connector.sandbox.ramp.errors import ErrorCode, RampApiError
from ml_connector.sandbox.ramp.model import CustomField, FieldOption, GLAccount, Selection
from ml_connector.sandbox.ramp.state import RampState, new_id

__all__ = [
    "GL_CATEGORY_NAME",
    "VENDOR_CATEGORY_ID",
    "VENDOR_CATEGORY_NAME",
    "ensure_selection",
    "field_type",
    "new_field",
    "new_gl_account",
    "new_option",
    "resolve_selection",
]

GL_CATEGORY_NAME = "GL Account"
VENDOR_CATEGORY_ID = "vendor"
VENDOR_CATEGORY_NAME = "Vendor"

_FIELD_TYPES = {
    seed.FIELD_COST_CENTRE: "COST_CENTER",
    seed.FIELD_DEPARTMENT: "OTHER",
    seed.FIELD_PROJECT: "PROJECT",
    seed.FIELD_VAT: "TAX_CODE",
}
_FIELD_NAMES = {
    seed.FIELD_COST_CENTRE: "Cost centre",
    seed.FIELD_DEPARTMENT: "Department",
    seed.FIELD_PROJECT: "Project",
    seed.FIELD_VAT: "VAT code",
    seed.FIELD_TASK: "Project task",
}


def field_type(custom: CustomField) -> str:
    """``category_info.type`` of a custom field: its own (a seeded customer chart), else
    inferred from its ERP id for the ids the chart push uses, else ``OTHER``."""
    return custom.category_type or _FIELD_TYPES.get(custom.remote_id, "OTHER")


def new_gl_account(
    state: RampState,
    now: float,
    remote_id: str,
    name: str,
    *,
    classification: str = "EXPENSE",
    code: str | None = None,
    connection_id: str | None = None,
) -> GLAccount:
    account = GLAccount(
        ramp_id=new_id(),
        remote_id=remote_id,
        name=name,
        classification=classification,
        connection_id=connection_id,
        created_at=now,
        updated_at=now,
        code=code,
        seq=state.next_seq(),
    )
    state.gl_accounts[account.ramp_id] = account
    return account


def new_field(
    state: RampState,
    now: float,
    remote_id: str,
    name: str,
    *,
    input_type: str = "SINGLE_CHOICE",
    display_name: str | None = None,
    is_required_for: list[str] | None = None,
    is_splittable: bool = False,
    connection_id: str | None = None,
) -> CustomField:
    custom = CustomField(
        ramp_id=new_id(),
        remote_id=remote_id,
        name=name,
        input_type=input_type,
        connection_id=connection_id,
        created_at=now,
        updated_at=now,
        display_name=display_name,
        is_required_for=list(is_required_for or []),
        is_splittable=is_splittable,
        seq=state.next_seq(),
    )
    state.fields[custom.ramp_id] = custom
    return custom


def new_option(
    state: RampState,
    now: float,
    field_ramp_id: str,
    remote_id: str,
    value: str,
    *,
    code: str | None = None,
) -> FieldOption:
    option = FieldOption(
        ramp_id=new_id(),
        field_ramp_id=field_ramp_id,
        remote_id=remote_id,
        value=value,
        created_at=now,
        updated_at=now,
        code=code,
        seq=state.next_seq(),
    )
    state.options[option.ramp_id] = option
    return option


def resolve_selection(
    state: RampState, field_external_id: str, option_external_id: str
) -> Selection:
    """The public API's coding rule: the field and option must exist, active, in the chart.

    "The chart" is the active accounting connection's; without one nothing can be coded.
    """
    active = state.active_connection_id()
    if active is None:
        raise RampApiError(
            400, "No active accounting connection: nothing can be coded.", code=ErrorCode.BAD_FIELD
        )
    if field_external_id == state.gl_category_id:
        account = state.gl_by_remote(option_external_id)
        if account is None or not account.is_active or account.connection_id != active:
            raise RampApiError(
                400,
                f"GL account with remote_id {option_external_id!r} not found or inactive.",
                code=ErrorCode.BAD_OPTION,
            )
        return Selection("gl", account.ramp_id)
    custom = state.field_by_remote(field_external_id)
    if custom is None or not custom.is_active or custom.connection_id != active:
        raise RampApiError(
            400,
            f"Accounting field with remote_id {field_external_id!r} not found or inactive.",
            code=ErrorCode.BAD_FIELD,
        )
    option = state.option_by_remote(custom.ramp_id, option_external_id)
    if option is None or not option.is_active:
        raise RampApiError(
            400,
            f"Option {option_external_id!r} of field {field_external_id!r} not found or inactive.",
            code=ErrorCode.BAD_OPTION,
        )
    return Selection("option", option.ramp_id)


def ensure_selection(
    state: RampState,
    clock: Callable[[], float],
    field_external_id: str,
    option_external_id: str,
    *,
    label: str | None = None,
) -> Selection:
    """Like ``resolve_selection`` but creates a missing account, field or option."""
    now = clock()
    connection_id = state.active_connection_id()
    if field_external_id == state.gl_category_id:
        account = state.gl_by_remote(option_external_id) or new_gl_account(
            state,
            now,
            option_external_id,
            label or f"Account {option_external_id}",
            code=option_external_id,
            connection_id=connection_id,
        )
        return Selection("gl", account.ramp_id)
    custom = state.field_by_remote(field_external_id) or new_field(
        state,
        now,
        field_external_id,
        _FIELD_NAMES.get(field_external_id, field_external_id),
        connection_id=connection_id,
    )
    option = state.option_by_remote(custom.ramp_id, option_external_id) or new_option(
        state, now, custom.ramp_id, option_external_id, label or option_external_id
    )
    return Selection("option", option.ramp_id)
