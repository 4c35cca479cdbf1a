"""Links: which Visma object a Ramp object became, unique per (connection, kind, ramp_id).

A link is how "exactly one supplier per vendor, one invoice per bill" survives concurrency and
crashes. Before creating anything in Visma a worker calls ``claim_link``: the unique constraint
lets exactly one caller insert the ``attempted`` row and so win the right to create. When the
create succeeds (or a lookup by ``external_ref`` finds the object) the worker calls
``confirm_link`` with the Visma id. A worker that finds a link still ``attempted`` must look
Visma up by its ``external_ref`` before it creates anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ml_connector.errors import StoreError
from ml_connector.store.engine import Repository
from ml_connector.store.records import Link, LinkClaim, LinkKind, LinkState
from ml_connector.store.tables import LinkRow

__all__ = ["LinkRepository"]


def _to_record(row: LinkRow) -> Link:
    return Link(
        id=row.id,
        connection_id=row.connection_id,
        kind=LinkKind(row.kind),
        ramp_id=row.ramp_id,
        state=LinkState(row.state),
        visma_id=row.visma_id,
        external_ref=row.external_ref,
        owner=row.owner,
        data=dict(row.data),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _find(
    session: AsyncSession, connection_id: int, kind: LinkKind, ramp_id: str, *, lock: bool = False
) -> LinkRow | None:
    query = select(LinkRow).where(
        LinkRow.connection_id == connection_id,
        LinkRow.kind == LinkKind(kind).value,
        LinkRow.ramp_id == ramp_id,
    )
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()


class LinkRepository(Repository):
    """Claim, confirm and look up links."""

    async def get_link(self, connection_id: int, kind: LinkKind, ramp_id: str) -> Link | None:
        """The link for this Ramp object, or None."""
        async with self._db.read() as session:
            row = await _find(session, connection_id, kind, ramp_id)
            return None if row is None else _to_record(row)

    async def claim_link(
        self,
        connection_id: int,
        kind: LinkKind,
        ramp_id: str,
        external_ref: str,
        owner: str,
        *,
        now: datetime | None = None,
    ) -> LinkClaim:
        """Insert an ``attempted`` link, or return the one already there.

        Atomic under the unique constraint: of any number of concurrent callers, in any number
        of processes, exactly one gets ``won=True``.
        """
        now = self._now(now)
        # A loser re-reads the winner's row; should the winner abandon it in between, go again.
        for _ in range(3):
            async with self._db.write() as session:
                insert = self._db.insert(LinkRow).values(
                    connection_id=connection_id,
                    kind=LinkKind(kind).value,
                    ramp_id=ramp_id,
                    state=LinkState.ATTEMPTED.value,
                    visma_id=None,
                    external_ref=external_ref,
                    owner=owner,
                    data={},
                    created_at=now,
                    updated_at=now,
                )
                insert = insert.on_conflict_do_nothing(
                    index_elements=[LinkRow.connection_id, LinkRow.kind, LinkRow.ramp_id]
                )
                inserted = (await session.execute(insert.returning(LinkRow.id))).scalar()
                row = await _find(session, connection_id, kind, ramp_id)
                if row is not None:
                    return LinkClaim(link=_to_record(row), won=inserted is not None)
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
        now: datetime | None = None,
    ) -> Link:
        """Record that ``ramp_id`` is ``visma_id`` in Visma (creating the link if needed).

        ``data`` replaces the link's data when given. ``external_ref`` defaults to the claimed
        one, or to ``ramp_id`` for a link that was never claimed (a match found by lookup).
        """
        now = self._now(now)
        async with self._db.write() as session:
            insert = self._db.insert(LinkRow).values(
                connection_id=connection_id,
                kind=LinkKind(kind).value,
                ramp_id=ramp_id,
                state=LinkState.CONFIRMED.value,
                visma_id=visma_id,
                external_ref=external_ref or ramp_id,
                owner=None,
                data=dict(data or {}),
                created_at=now,
                updated_at=now,
            )
            await session.execute(
                insert.on_conflict_do_nothing(
                    index_elements=[LinkRow.connection_id, LinkRow.kind, LinkRow.ramp_id]
                )
            )
            row = await _find(session, connection_id, kind, ramp_id, lock=True)
            if row is None:  # pragma: no cover - only abandon_link deletes, and only attempts
                raise StoreError(f"link {LinkKind(kind).value}/{ramp_id} vanished")
            row.state = LinkState.CONFIRMED.value
            row.visma_id = visma_id
            if external_ref is not None:
                row.external_ref = external_ref
            if data is not None:
                row.data = dict(data)
            row.updated_at = now
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
        now = self._now(now)
        async with self._db.write() as session:
            row = await _find(session, connection_id, kind, ramp_id, lock=True)
            if row is None:
                raise StoreError(f"no {LinkKind(kind).value} link for Ramp id {ramp_id!r}")
            row.data = dict(data)
            row.updated_at = now
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
                    LinkRow.connection_id == connection_id,
                    LinkRow.kind == LinkKind(kind).value,
                    LinkRow.ramp_id == ramp_id,
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
        async with self._db.read() as session:
            query = (
                select(LinkRow)
                .where(
                    LinkRow.connection_id == connection_id,
                    LinkRow.kind == LinkKind(kind).value,
                    LinkRow.visma_id == visma_id,
                )
                .order_by(LinkRow.id)
                .limit(1)
            )
            row = (await session.scalars(query)).one_or_none()
            return None if row is None else _to_record(row)

    async def list_links(self, connection_id: int, kind: LinkKind | None = None) -> list[Link]:
        """A connection's links, optionally of one kind, by id."""
        async with self._db.read() as session:
            query = select(LinkRow).where(LinkRow.connection_id == connection_id)
            if kind is not None:
                query = query.where(LinkRow.kind == LinkKind(kind).value)
            rows = await session.scalars(query.order_by(LinkRow.id))
            return [_to_record(row) for row in rows]
