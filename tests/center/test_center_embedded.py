"""The embedded center other areas start in-process: it serves on a free loopback port, enrolls terminals,
and is really gone after stop()."""
import socket

import pytest

from center.embedded import start_center
from center.testing import SignedClient


def test_an_embedded_center_serves_signed_requests_and_stops():
    c = start_center(seed=True, persons=0)
    try:
        assert c.url.startswith("http://127.0.0.1:")
        client = SignedClient(c.url, "KIOSK-EMB1", c.enroll("KIOSK-EMB1"))
        assert client.get("/v1/catalog").status_code == 200
        assert client.get("/v1/persons/330802198503151230").json()["account"]["state"] == "01"
    finally:
        c.stop()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", c.port), timeout=2).close()
