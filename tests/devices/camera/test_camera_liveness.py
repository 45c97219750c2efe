"""The simple liveness prompts: a blink and a head turn pass, a still photo held to the camera does not."""
from __future__ import annotations

import random

import pytest

from devices.camera import scenes
from devices.camera.liveness import (BlinkChallenge, HeadTurnChallenge, LivenessStatus, make_challenge,
                                     random_challenge)
from devices.camera.quality import FaceQualityChecker


@pytest.fixture(scope="module")
def checker() -> FaceQualityChecker:
    return FaceQualityChecker()


def play(checker, challenge, frames) -> LivenessStatus:
    status = LivenessStatus.PENDING
    for frame in frames:
        a = checker.analyse(frame)
        status = challenge.feed(a.gray, a.face_work if a.report.faces == 1 else None)
        if status is not LivenessStatus.PENDING:
            break
    return status


def test_a_customer_who_blinks_passes_the_blink_prompt(checker):
    challenge = BlinkChallenge()
    assert challenge.prompt_zh == "请眨眨眼"
    assert play(checker, challenge, scenes.scene_frames("blink")) is LivenessStatus.PASSED
    result = challenge.result()
    assert result.passed and result.kind == "blink"
    assert result.certified is False


def test_a_photo_held_to_the_camera_never_blinks(checker):
    challenge = BlinkChallenge()
    frames = scenes.scene_frames("good_face") * 4
    assert play(checker, challenge, frames) is LivenessStatus.PENDING
    assert not challenge.result().passed


def test_eyes_shut_for_long_is_not_a_blink(checker):
    closed = scenes.scene_frames("blink")[8:11]
    frames = scenes.scene_frames("good_face")[:5] + closed * 3 + scenes.scene_frames("good_face")[:3]
    challenge = BlinkChallenge(max_closed=4)
    assert play(checker, challenge, frames) is LivenessStatus.PENDING
    assert "closed too long 1x" in challenge.result().detail


def test_a_customer_who_turns_the_head_and_back_passes_the_turn_prompt(checker):
    challenge = HeadTurnChallenge("left")
    assert "向左转头" in challenge.prompt_zh
    assert play(checker, challenge, scenes.scene_frames("turn_head")) is LivenessStatus.PASSED
    assert challenge.result().passed and not challenge.result().certified


def test_a_still_face_does_not_pass_the_turn_prompt(checker):
    challenge = HeadTurnChallenge("right")
    assert play(checker, challenge, scenes.scene_frames("good_face") * 3) is LivenessStatus.PENDING


def test_losing_the_face_during_a_turn_starts_the_turn_over(checker):
    turn = scenes.scene_frames("turn_head")
    away = turn[:11]                                   # rest, then turned away
    frames = away + scenes.scene_frames("no_face")[:1] + turn[15:]   # face lost, then back at rest
    challenge = HeadTurnChallenge("left")
    assert play(checker, challenge, frames) is LivenessStatus.PENDING


def test_prompts_are_randomised_among_blink_and_both_turns():
    rng = random.Random(7)
    kinds = {(c.kind, c.prompt_zh) for c in (random_challenge(rng) for _ in range(30))}
    assert {k for k, _ in kinds} == {"blink", "turn_head"}
    assert len(kinds) == 3


def test_an_unknown_challenge_name_is_refused():
    with pytest.raises(ValueError):
        make_challenge("smile")
