"""Builds the configured devices. (role, backend) -> factory "module:function"; each factory takes Settings.

Factories are imported lazily so a missing optional library (pyscard, cv2) only affects its own role;
the technician sees the failure through is_usable()/`hpf-kiosk devices list` instead of a crash."""
from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Callable, Optional

from config import Settings
from devices.base import Device, Usability

log = logging.getLogger(__name__)

ROLES = ("idcard", "cardreader", "camera", "receipt_printer", "a4_printer")

FACTORIES: dict[tuple[str, str], str] = {
    ("idcard", "gat467"): "devices.idcard.reader:build_serial_reader",
    ("idcard", "sim"): "devices.idcard.sim:build_sim_reader",
    ("cardreader", "pcsc"): "devices.pcsc.reader:build_pcsc_reader",
    ("cardreader", "sim"): "devices.pcsc.sim:build_sim_card_reader",
    ("camera", "opencv"): "devices.camera.camera:build_opencv_camera",
    ("camera", "sim"): "devices.camera.sim:build_sim_camera",
    ("receipt_printer", "escpos"): "printing.escpos.device:build_escpos_printer",
    ("receipt_printer", "sim"): "printing.escpos.device:build_sim_escpos_printer",
    ("a4_printer", "cups"): "printing.cups:build_cups_printer",
    ("a4_printer", "file"): "printing.cups:build_file_printer",
}


@dataclass
class Built:
    role: str
    backend: str
    device: Optional[Device]
    usability: Usability


def backend_of(settings: Settings, role: str) -> str:
    return getattr(settings.devices, role).backend


def factory_for(role: str, backend: str) -> Optional[Callable[[Settings], Device]]:
    target = FACTORIES.get((role, backend))
    if target is None:
        return None
    module, func = target.split(":")
    return getattr(importlib.import_module(module), func)


def build(settings: Settings, role: str) -> Built:
    backend = backend_of(settings, role)
    if backend == "none":
        return Built(role, backend, None, Usability(False, "disabled in configuration (backend = none)"))
    try:
        factory = factory_for(role, backend)
    except ImportError as exc:
        return Built(role, backend, None, Usability(False, f"adapter cannot be loaded: {exc}"))
    if factory is None:
        return Built(role, backend, None, Usability(False, f"no adapter for backend '{backend}'"))
    try:
        device = factory(settings)
    except Exception as exc:  # a device that cannot start must not stop the terminal
        log.warning("device %s (%s) could not be started: %s", role, backend, exc)
        return Built(role, backend, None, Usability(False, str(exc)))
    return Built(role, backend, device, device.is_usable())


def build_all(settings: Settings) -> dict[str, Built]:
    return {role: build(settings, role) for role in ROLES}
