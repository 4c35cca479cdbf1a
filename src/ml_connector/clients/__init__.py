"""The only code in ml-connector that speaks HTTP to Ramp and Visma.

``RampClient`` and ``VismaClient`` take their credentials and, optionally, an httpx transport
(``httpx.ASGITransport(app=sandbox)`` in tests and the demo), a timeout, a clock, a retry count
and an ``on_call`` hook that receives a redacted ``CallRecord`` per call. Every failure is one of
the ``errors.VendorError`` classes, chosen by ``classify``. Typed objects live in
``clients.ramp_models`` and ``clients.visma_models``.
"""

from __future__ import annotations

from ml_connector.clients._classify import classify
from ml_connector.clients._http import CallRecord, decode_json, encode_json
from ml_connector.clients._oauth import TokenInfo
from ml_connector.clients.ramp import DEFAULT_RAMP_SCOPES, RampClient, RampCredentials
from ml_connector.clients.visma import DEFAULT_VISMA_SCOPES, VismaClient, VismaCredentials

__all__ = [
    "DEFAULT_RAMP_SCOPES",
    "DEFAULT_VISMA_SCOPES",
    "CallRecord",
    "RampClient",
    "RampCredentials",
    "TokenInfo",
    "VismaClient",
    "VismaCredentials",
    "classify",
    "decode_json",
    "encode_json",
]
