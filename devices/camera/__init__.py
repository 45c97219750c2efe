"""devices/camera: the kiosk camera and face capture (OpenCV, Haar cascades, no model downloads).

    source.py    device index / video file / stream URL, grabber thread keeping only the newest frame
    quality.py   face quality gates -> QualityReport (figures, first failing gate code, Chinese guidance)
    liveness.py  LivenessChallenge interface + simple blink / head-turn prompts (NOT certified liveness)
    camera.py    Camera(Device): status, is_usable, selftest, preview, capture_face -> portrait JPEG
    sim.py       simulated camera playing footage made from a real photo; camera.simulator.show(scene)
    scenes.py    that footage (also used by tests and bench)
    cli.py       `hpf-kiosk devices capture-face`
"""
