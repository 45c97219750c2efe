"""The center starts as a real process, enrolls a terminal and accepts its first signed transaction."""
from datetime import datetime, timezone

from kiosk.domain.clientid import new_client_id


def test_a_new_terminal_enrolls_and_its_evaluation_is_accepted_once(center_process):
    client = center_process.client("KIOSK-SMOKE")
    cid = new_client_id()
    item = {"client_id": cid, "kind": "evaluation", "created_at": datetime.now(timezone.utc).isoformat(),
            "payload": {"item_code": "query", "score": 5}}
    first = client.post("/v1/transactions", item, idempotency_key=cid)
    again = client.post("/v1/transactions", item, idempotency_key=cid)
    assert first.status_code == 200 and first.json()["outcome"] == "accepted"
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert client.get(f"/v1/transactions/{cid}").json()["outcome"] == "accepted"
