"""Deposit-use and loan-payoff certificates with serial, verification code and an Ed25519 signature."""
from __future__ import annotations


def deposit_use_certificate(*args, **kwargs) -> dict:
    raise NotImplementedError


def payoff_certificate(*args, **kwargs) -> dict:
    raise NotImplementedError


def canonical_json(content: dict) -> bytes:
    raise NotImplementedError


def sign(content: dict, private_key) -> str:
    raise NotImplementedError


def verify(content: dict, signature: str, public_key) -> bool:
    raise NotImplementedError
