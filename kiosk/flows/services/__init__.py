"""Resident service flows (Qt-free): one state machine per item on kiosk.flows.base.Flow.

Start with kiosk.flows.services.registry (items, `flow_for`, `build_context`) and base.ServiceFlow (the
shared states and `view()`)."""
