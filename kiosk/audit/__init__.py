"""kiosk.audit — append-only, HMAC-chained, masked audit log in SQLite.

    log = AuditLog.open(settings)            # or AuditLog(path, key)
    log.append("teller:T001", "withdrawal.submit", target="client:0192…", details={...})
    log.verify() -> VerifyReport             # names every problem with its seq
"""
from kiosk.audit.log import (AuditError, AuditLog, AuditRecord, AuditSinkAdapter, Problem, VerifyReport,
                             audit_key_file, load_or_create_key)

__all__ = ["AuditError", "AuditLog", "AuditRecord", "AuditSinkAdapter", "Problem", "VerifyReport",
           "audit_key_file", "load_or_create_key"]
