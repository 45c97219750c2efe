"""PC/SC smart-card reader: bank cards (PBOC 3.0 / UnionPay) and social-security cards (社保卡).

    tlv.py      strict BER-TLV parser (EMV tags, long lengths, templates)
    apdu.py     APDU channel over any transport (T=0 61xx / 6Cxx), status words -> completion codes
    emv.py      the reads: PSE/PPSE, AID selection, PDOL-filled GPO, AFL records; SSC EF05/EF06
    cards.py    synthetic card models (UnionPay debit/credit, no name, no directory, SSC, mute)
    reader.py   PcscCardReader (pyscard -> pcscd), status monitor, deadlines per APDU
    sim.py      SimCardReader for the demo: same commands and events; `reader.simulator` inserts cards
    vcard.py    the card models over the vpcd protocol: `python -m devices.pcsc.vcard --card unionpay`
    testing.py  private pcscd for tests/bench (stopped by PID): `python -m devices.pcsc.testing`
    cli.py      `hpf-kiosk devices read-card`
"""
