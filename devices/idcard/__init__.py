"""Second-generation ID-card reader (GA/T 467 SAM_A).

    protocol.py  frames, commands, incremental parser, SW3 result codes (pure bytes)
    card.py      the 256-byte text block of the four card kinds -> IdCardData (masked repr)
    photo.py     the WLT photo decoder plug-in (vendor libwlt2bmp via ctypes, when installed)
    reader.py    IdCardReader: pyserial, one worker, deadlines, status events, hot-plug
    sim.py       the simulator on a pty (+ SimIdCardReader, `python -m devices.idcard.sim`)
    cli.py       `hpf-kiosk devices read-id` and `hpf-kiosk devices idcard-sim`
"""
