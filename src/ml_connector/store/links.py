"""Links: which Visma object a Ramp object became, unique per (connection, kind, ramp_id).

A link is how "exactly one supplier per vendor, one invoice per bill" survives concurrency and
crashes. Before creating anything in Visma a worker calls ``claim_link``: the unique constraint
lets exactly one caller insert the ``attempted`` row and so win the right to create. When the
create succeeds (or a lookup by ``external_ref`` finds the object) the worker calls
``confirm_link`` with the Visma id. A worker that finds a link still ``attempted`` must look
Visma up by its ``external_ref`` before it creates anything.

The hot paths (get, claim, confirm, update data) are single Core statements with RETURNING
where they can be: a bill's unit of work reads its links once and writes each change in one
statement, so the store costs a few round trips per bill, not a dozen.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, Table, and_, bindparam, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.errors import StoreError
from ml_connector.store.engine import Dialect, Repository
from ml_connector.store.outbox import WriteBackItem, enqueue_writebacks_in
from ml_connector.store.records import Link, LinkClaim, LinkKind, LinkState
from ml_connector.store.tables import LinkRow

__all__ = ["LinkKey", "LinkRepository"]

# (kind, Ramp id): how a link is named within a connection.
LinkKey = tuple[LinkKind, str]
_LINKS = cast(Table, LinkRow.__table__)
_COLUMNS = tuple(_LINKS.c)


def _to_record(row: Row[Any]) -> Link:
    values = row._mapping
    return Link(
        id=values["id"],
        connection_id=values["connection_id"],
        kind=LinkKind(values["kind"]),
        ramp_id=values["ramp_id"],
        state=LinkState(values["state"]),
        visma_id=values["visma_id"],
        external_ref=values["external_ref"],
        owner=values["owner"],
        data=dict(values["data"]),
        created_at=values["created_at"],
        updated_at=values["updated_at"],
    )


def _key(connection_id: int, kind: LinkKind, ramp_id: str) -> ColumnElement[bool]:
    return and_(
        LinkRow.connection_id == connection_id,
        LinkRow.kind == LinkKind(kind).value,
        LinkRow.ramp_id == ramp_id,
    )


# The hot statements are built once, with bind parameters, and run as Core on the session's
# connection: building and ORM-executing them per call cost more CPU than the database did.
def _bound_key(suffix: str = "") -> ColumnElement[bool]:
    return and_(
        _LINKS.c.connection_id == bindparam("key_connection"),
        _LINKS.c.kind == bindparam(f"key_kind{suffix}"),
        _LINKS.c.ramp_id == bindparam(f"key_ramp_id{suffix}"),
    )


_GET = select(*_COLUMNS).where(_bound_key())
_SET_DATA = (
    update(_LINKS)
    .where(_bound_key())
    .values(data=bindparam("new_data"), updated_at=bindparam("new_now"))
    .returning(*_COLUMNS)
)


@functools.cache
def _confirm_statement(with_ref: bool, with_data: bool) -> Any:
    """UPDATE … RETURNING that confirms a link, setting the optional fields asked for."""
    values: dict[str, Any] = {
        "state": bindparam("new_state"),
        "visma_id": bindparam("new_visma_id"),
        "updated_at": bindparam("new_now"),
    }
    if with_ref:
        values["external_ref"] = bindparam("new_ref")
    if with_data:
        values["data"] = bindparam("new_data")
    return update(_LINKS).where(_bound_key()).values(**values).returning(*_COLUMNS)


@functools.cache
def _insert_statement(dialect: Dialect) -> Any:
    """INSERT of a whole link row that yields to an existing one, returning the row if new."""
    maker = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # No VALUES clause: the parameters name the columns (``_row``).
    return (
        maker(_LINKS)
        .on_conflict_do_nothing(
            index_elements=[_LINKS.c.connection_id, _LINKS.c.kind, _LINKS.c.ramp_id]
        )
        .returning(*_COLUMNS)
    )


_INSERT_FIELDS = (
    "connection_id",
    "kind",
    "ramp_id",
    "state",
    "visma_id",
    "external_ref",
    "owner",
    "data",
    "created_at",
    "updated_at",
)


@functools.cache
def _many_statement(keys: int, with_kinds: bool) -> Select[Any]:
    """SELECT of ``keys`` named links, plus (``with_kinds``) every link of some kinds."""
    wanted = [_bound_key(str(n)) for n in range(keys)]
    if with_kinds:
        wanted.append(
            and_(
                _LINKS.c.connection_id == bindparam("key_connection"),
                _LINKS.c.kind.in_(bindparam("key_kinds", expanding=True)),
            )
        )
    return select(*_COLUMNS).where(or_(*wanted)).order_by(_LINKS.c.id)


def _params(connection_id: int, kind: LinkKind, ramp_id: str) -> dict[str, Any]:
    """The bind parameters naming one link (``_bound_key``)."""
    return {
        "key_connection": connection_id,
        "key_kind": LinkKind(kind).value,
        "key_ramp_id": ramp_id,
    }


def _row(connection_id: int, kind: LinkKind, ramp_id: str, **fields: Any) -> dict[str, Any]:
    """A whole link row for ``_insert_statement``."""
    row = {"connection_id": connection_id, "kind": LinkKind(kind).value, "ramp_id": ramp_id}
    row.update(fields)
    assert set(row) == set(_INSERT_FIELDS)
    return row


async def _find(
    session: AsyncSession, connection_id: int, kind: LinkKind, ramp_id: str
) -> Link | None:
    conn = await session.connection()
    row = (await conn.execute(_GET, _params(connection_id, kind, ramp_id))).first()
    return None if row is None else _to_record(row)


class LinkRepository(Repository):
    """Claim, confirm and look up links."""

    async def get_link(self, connection_id: int, kind: LinkKind, ramp_id: str) -> Link | None:
        """The link for this Ramp object, or None."""
        async with self._db.read() as session:
            return await _find(session, connection_id, kind, ramp_id)

    async def get_links(
        self,
        connection_id: int,
        keys: Iterable[LinkKey],
        *,
        all_of: Iterable[LinkKind] = (),
    ) -> dict[LinkKey, Link]:
        """Several links in one query: those named by ``keys`` plus every link of the kinds in
        ``all_of``, by (kind, Ramp id). Names without a link are simply absent."""
        named = list(keys)
        kinds = [LinkKind(kind).value for kind in all_of]
        if not named and not kinds:
            return {}
        params: dict[str, Any] = {"key_connection": connection_id}
        for n, (kind, ramp_id) in enumerate(named):
            params[f"key_kind{n}"] = LinkKind(kind).value
            params[f"key_ramp_id{n}"] = ramp_id
        if kinds:
            params["key_kinds"] = kinds
        query = _many_statement(len(named), bool(kinds))
        async with self._db.read() as session:
            conn = await session.connection()
            links = [_to_record(row) for row in await conn.execute(query, params)]
        return {(link.kind, link.ramp_id): link for link in links}

    async def claim_link(
        self,
        connection_id: int,
        kind: LinkKind,
        ramp_id: str,
        external_ref: str,
        owner: str,
        *,
        data: Mapping[str, Any] | None = None,
        now: datetime | None = None,
    ) -> LinkClaim:
        """Insert an ``attempted`` link (with ``data``), or return the one already there.

        Atomic under the unique constraint: of any number of concurrent callers, in any number
        of processes, exactly one gets ``won=True``. The winner's row comes back from the
        INSERT itself; only a loser reads the existing row.
        """
        now = self._now(now)
        row_values = _row(
            connection_id,
            kind,
            ramp_id,
            state=LinkState.ATTEMPTED.value,
            visma_id=None,
            external_ref=external_ref,
            owner=owner,
            data=dict(data or {}),
            created_at=now,
            updated_at=now,
        )
        claim = _insert_statement(self._db.dialect)
        # A loser re-reads the winner's row; should the winner abandon it in between, go again.
        for _ in range(3):
            async with self._db.write() as session:
                conn = await session.connection()
                inserted = (await conn.execute(claim, row_values)).first()
                if inserted is not None:
                    return LinkClaim(link=_to_record(inserted), won=True)
                found = await _find(session, connection_id, kind, ramp_id)
                if found is not None:
                    return LinkClaim(link=found, won=False)
        raise StoreError(f"could not claim the {LinkKind(kind).value} link for {ramp_id!r}")

    async def confirm_link(
        self,
        connection_id: int,
        kind: LinkKind,
        ramp_id: str,
        visma_id: str,
        data: Mapping[str, Any] | None = None,
        *,
        external_ref: str | None = None,
        outbox: Sequence[WriteBackItem] = (),
        now: datetime | None = None,
    ) -> Link:
        """Record that ``ramp_id`` is ``visma_id`` in Visma (creating the link if needed).

        ``data`` replaces the link's data when given. ``external_ref`` defaults to the claimed
        one, or to ``ramp_id`` for a link that was never claimed (a match found by lookup).
        One UPDATE … RETURNING when the link exists (the usual case: it was claimed first).
        ``outbox`` adds Ramp write-backs in the same transaction (``store.outbox``), so what
        Ramp must be told is stored exactly when the link says the Visma object exists.
        """
        now = self._now(now)
        params = {
            **_params(connection_id, kind, ramp_id),
            "new_state": LinkState.CONFIRMED.value,
            "new_visma_id": visma_id,
            "new_now": now,
        }
        if external_ref is not None:
            params["new_ref"] = external_ref
        if data is not None:
            params["new_data"] = dict(data)
        change = _confirm_statement(external_ref is not None, data is not None)
        async with self._db.write() as session:
            conn = await session.connection()
            row = (await conn.execute(change, params)).first()
            if row is None:
                new_row = _row(
                    connection_id,
                    kind,
                    ramp_id,
                    state=LinkState.CONFIRMED.value,
                    visma_id=visma_id,
                    external_ref=external_ref or ramp_id,
                    owner=None,
                    data=dict(data or {}),
                    created_at=now,
                    updated_at=now,
                )
                row = (await conn.execute(_insert_statement(self._db.dialect), new_row)).first()
                if row is None:  # inserted concurrently between the two statements (PostgreSQL)
                    row = (await conn.execute(change, params)).first()
            if row is None:  # pragma: no cover - only abandon_link deletes, and only attempts
                raise StoreError(f"link {LinkKind(kind).value}/{ramp_id} vanished")
            await enqueue_writebacks_in(conn, connection_id, outbox, now)
            return _to_record(row)

    async def update_link_data(
        self,
        connection_id: int,
        kind: LinkKind,
        ramp_id: str,
        data: Mapping[str, Any],
        *,
        now: datetime | None = None,
    ) -> Link:
        """Replace a link's data. Raises StoreError when there is no such link."""
        params = {**_params(connection_id, kind, ramp_id), "new_data": dict(data)}
        params["new_now"] = self._now(now)
        async with self._db.write() as session:
            conn = await session.connection()
            row = (await conn.execute(_SET_DATA, params)).first()
            if row is None:
                raise StoreError(f"no {LinkKind(kind).value} link for Ramp id {ramp_id!r}")
            return _to_record(row)

    async def abandon_link(
        self, connection_id: int, kind: LinkKind, ramp_id: str, owner: str
    ) -> bool:
        """Delete ``owner``'s ``attempted`` link after a create that certainly failed.

        Returns False (and deletes nothing) for a confirmed link or someone else's claim.
        """
        async with self._db.write() as session:
            result = await session.execute(
                delete(LinkRow)
                .where(
                    _key(connection_id, kind, ramp_id),
                    LinkRow.state == LinkState.ATTEMPTED.value,
                    LinkRow.owner == owner,
                )
                .returning(LinkRow.id)
            )
            return result.scalar() is not None

    async def find_link_by_visma_id(
        self, connection_id: int, kind: LinkKind, visma_id: str
    ) -> Link | None:
        """The link pointing at ``visma_id``, or None (the oldest one if several do)."""
        query = (
            select(*_COLUMNS)
            .where(
                LinkRow.connection_id == connection_id,
                LinkRow.kind == LinkKind(kind).value,
                LinkRow.visma_id == visma_id,
            )
            .order_by(LinkRow.id)
            .limit(1)
        )
        async with self._db.read() as session:
            row = (await session.execute(query)).first()
            return None if row is None else _to_record(row)

    async def list_links(self, connection_id: int, kind: LinkKind | None = None) -> list[Link]:
        """A connection's links, optionally of one kind, by id."""
        query = select(*_COLUMNS).where(LinkRow.connection_id == connection_id)
        if kind is not None:
            query = query.where(LinkRow.kind == LinkKind(kind).value)
        async with self._db.read() as session:
            rows = await session.execute(query.order_by(LinkRow.id))
            return [_to_record(row) for row in rows]
