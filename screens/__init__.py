"""screens: the PySide6 side of the kiosk (the only Qt package).

    qt.py        the one place Qt names are imported from
    app.py       QApplication, CJK font, display check, run() (event loop, SIGTERM), create_shell()
    bridge.py    core -> Qt: Tasks callbacks and Terminal events delivered on the Qt thread (on_event_<name>)
    shell.py     the window: header, screen stack, footer, idle overlay, banners
    pages.py     home (catalog tiles) and identification (one sub-page per step of the flow)
    widgets.py   tiles, keypad (scrambled for passwords), face preview with guide oval, animated card guide
    theme.py     colours (contrast pairs), sizes for normal and care mode, the style sheet
    i18n/        hpf_en.ts (source of the English texts) -> hpf_en.qm via pyside6-lrelease
    simpanel.py  the demo's simulator panel (F1..F7)
    selftest.py  `hpf-kiosk selftest`: one identification per level through the real screens, headless
"""
