"""The store: the only code that speaks SQL. See :class:`Store`.

```python
store = Store.open("sqlite+aiosqlite:///ml-connector.db")
await store.migrate()
connection = await store.create_connection("acme", ramp_base_url=..., ...)
records = await store.claim_due("worker-1", limit=10, lease_s=60)
```
"""

from __future__ import annotations

from ml_connector.store.bindings import BindingVersion
from ml_connector.store.chart import ChartEntry
from ml_connector.store.facade import Store
from ml_connector.store.inbox import (
    EventReceipt,
    EventSource,
    EventStatus,
    InboxEvent,
)
from ml_connector.store.inbox_guard import UNKNOWN_SCOPE, RejectionTally
from ml_connector.store.mappings import MappingCatalog, MappingVersion
from ml_connector.store.outbox import (
    OutboxKind,
    OutboxState,
    Settlement,
    WriteBackEntry,
    WriteBackItem,
)
from ml_connector.store.records import (
    Attempt,
    AuditEntry,
    AuditProblem,
    Connection,
    ConnectionStatus,
    Link,
    LinkClaim,
    LinkKind,
    LinkState,
    SyncRecord,
)
from ml_connector.store.rejections import Rejection
from ml_connector.store.states import SyncStatus, Transition
from ml_connector.store.supplier_index import IndexedSupplier, SupplierIndexState

__all__ = [
    "UNKNOWN_SCOPE",
    "Attempt",
    "AuditEntry",
    "AuditProblem",
    "BindingVersion",
    "ChartEntry",
    "Connection",
    "ConnectionStatus",
    "EventReceipt",
    "EventSource",
    "EventStatus",
    "InboxEvent",
    "IndexedSupplier",
    "Link",
    "LinkClaim",
    "LinkKind",
    "LinkState",
    "MappingCatalog",
    "MappingVersion",
    "OutboxKind",
    "OutboxState",
    "Rejection",
    "RejectionTally",
    "Settlement",
    "Store",
    "SupplierIndexState",
    "SyncRecord",
    "SyncStatus",
    "Transition",
    "WriteBackEntry",
    "WriteBackItem",
]
