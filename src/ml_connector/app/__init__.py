"""The application layer: every user action, once.

The CLI, the admin API and the dashboard (the edges) call only this package. Each function
takes the acting :class:`~ml_connector.app.principal.Actor`, checks its permission and writes
the audit entry of the action here, then drives the engine (``runtime/``) and the store.
One module per concept: connections, records, mappings and field bindings, users and
sessions, webhook registration, chart, alerts.
"""
