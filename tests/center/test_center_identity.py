"""Identity at the center: the sandbox face check wants exactly one big enough face and returns a score; SMS
codes are 6 digits, valid 5 minutes, 5 attempts, rate-limited, and land in the sandbox outbox."""
import io
import subprocess
import sys

import cv2
import numpy as np
import pytest
import requests
from skimage import data as skdata

ZHANG = "330802198503151230"
ZHENG = "330802199311111335"    # the sandbox's "face never matches" person
WANG = "330802197011021259"


def _jpeg(img_rgb) -> bytes:
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(img_rgb, cv2.COLOR_RGB2BGR))
    assert ok
    return buf.tobytes()


@pytest.fixture(scope="module")
def kiosk(center_process):
    return center_process.client("KIOSK-ID01")


def _face(kiosk, id_number, jpeg):
    return kiosk.post_multipart("/v1/identity/face-verify", {"id_number": id_number},
                                {"image": ("face.jpg", jpeg, "image/jpeg")})


def test_a_clear_single_face_is_verified_with_a_score(kiosk):
    r = _face(kiosk, ZHANG, _jpeg(skdata.astronaut()))
    assert r.status_code == 200
    body = r.json()
    assert body["verified"] is True and body["score"] >= body["threshold"]


def test_the_configured_person_never_matches(kiosk):
    r = _face(kiosk, ZHENG, _jpeg(skdata.astronaut()))
    assert r.status_code == 200
    assert r.json()["verified"] is False and r.json()["code"] == "FACE_MISMATCH"
    assert "人工" in r.json()["message"]


def test_unusable_pictures_are_refused_with_their_reason(kiosk):
    blank = np.full((480, 640, 3), 200, np.uint8)
    r = _face(kiosk, ZHANG, _jpeg(blank))
    assert r.status_code == 422 and r.json()["code"] == "FACE_NOT_FOUND"
    two = np.concatenate([skdata.astronaut(), skdata.astronaut()], axis=1)
    r = _face(kiosk, ZHANG, _jpeg(two))
    assert r.status_code == 422 and r.json()["code"] == "FACE_MULTIPLE"
    small = cv2.resize(skdata.astronaut(), (128, 128))
    canvas = np.full((960, 1280, 3), 255, np.uint8)
    canvas[400:528, 600:728] = small
    r = _face(kiosk, ZHANG, _jpeg(canvas))
    assert r.status_code == 422 and r.json()["code"] in ("FACE_TOO_SMALL", "FACE_NOT_FOUND")
    r = _face(kiosk, ZHANG, b"not a jpeg at all")
    assert r.status_code == 422 and r.json()["code"] == "FACE_IMAGE_INVALID"


def test_face_check_for_an_unknown_person_is_404(kiosk):
    r = _face(kiosk, "11010519491231002X", _jpeg(skdata.astronaut()))
    assert r.status_code == 404 and r.json()["code"] == "PERSON_NOT_FOUND"


def _last_code(center, phone):
    msgs = requests.get(f"{center.url}/v1/sandbox/sms?phone={phone}", timeout=30).json()
    return msgs[0]["text"].split("验证码")[1][:6]


def test_an_sms_code_goes_to_the_registered_phone_and_verifies_once(center_process, kiosk):
    r = kiosk.post("/v1/identity/sms/send", {"id_number": ZHANG, "purpose": "identity"}, idempotency_key="s1")
    assert r.status_code == 200 and r.json()["phone_masked"] == "138****0001"
    code = _last_code(center_process, "13805700001")
    assert len(code) == 6 and code.isdigit()
    ok = kiosk.post("/v1/identity/sms/verify", {"id_number": ZHANG, "purpose": "identity", "code": code},
                    idempotency_key="v1")
    assert ok.status_code == 200 and ok.json() == {"verified": True}
    reused = kiosk.post("/v1/identity/sms/verify", {"id_number": ZHANG, "purpose": "identity", "code": code},
                        idempotency_key="v2")
    assert reused.status_code == 422 and reused.json()["code"] == "SMS_CODE_NOT_SENT"


def test_a_second_code_within_a_minute_is_refused(kiosk):
    first = kiosk.post("/v1/identity/sms/send", {"id_number": WANG}, idempotency_key="rate-1")
    assert first.status_code == 200
    again = kiosk.post("/v1/identity/sms/send", {"id_number": WANG}, idempotency_key="rate-2")
    assert again.status_code == 429 and again.json()["code"] == "SMS_TOO_FREQUENT"
    # a retry of the first request (same key) is the stored answer, not a new message
    assert kiosk.post("/v1/identity/sms/send", {"id_number": WANG}, idempotency_key="rate-1").status_code == 200


def test_five_wrong_codes_void_the_code(center_process, kiosk):
    person = "330802198805091261"   # 赵敏, 13805700004
    assert kiosk.post("/v1/identity/sms/send", {"id_number": person}, idempotency_key="w-send").status_code == 200
    right = _last_code(center_process, "13805700004")
    wrong = "000000" if right != "000000" else "111111"
    answers = [kiosk.post("/v1/identity/sms/verify", {"id_number": person, "code": wrong},
                          idempotency_key=f"w-{i}").json() for i in range(5)]
    assert [a["code"] for a in answers[:4]] == ["SMS_CODE_WRONG"] * 4
    assert "还可以再试1次" in answers[3]["message"]
    assert answers[4]["code"] == "SMS_CODE_LOCKED"
    late = kiosk.post("/v1/identity/sms/verify", {"id_number": person, "code": right}, idempotency_key="w-right")
    assert late.status_code == 422 and late.json()["code"] == "SMS_CODE_LOCKED"


def test_the_sms_outbox_is_listed_by_the_cli(center_process, kiosk):
    out = subprocess.run([sys.executable, "-m", "center.cli", "sms", "list", "--db", center_process.db_url],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "【住房公积金】" in out.stdout
