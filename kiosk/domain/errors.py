"""Errors a user can meet in the domain: a stable code, a plain Chinese message, an English str()."""
from __future__ import annotations


class DomainError(ValueError):
    """Base of every domain validation error.

    `code` is stable (screens and the center map it), `message_zh` is what the user reads,
    str(exc) is the English log line. None of them carries unmasked personal data."""

    def __init__(self, code: str, message_zh: str, message_en: str):
        super().__init__(message_en)
        self.code = code
        self.message_zh = message_zh

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}({self.code!r}, {str(self)!r})"


class InvalidDocument(DomainError):
    """An identity document number is malformed or fails its check."""


class InvalidNumber(DomainError):
    """A bank card, phone or organisation number is malformed or fails its check."""


class InvalidAmount(DomainError):
    """A money amount cannot be parsed or is out of range."""


class UnknownCode(DomainError):
    """A value that is not in a national code table."""
