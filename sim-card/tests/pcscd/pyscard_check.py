"""Talk to the card in a PC/SC reader with pyscard; print one line per answer.

Usage: /usr/bin/python3 pyscard_check.py "Virtual PCD 00 00"

Prints "LABEL SW DATAHEX" lines that tests/pcscd/main.rs asserts on, and exits non-zero
with a message on stderr when something is missing.
"""

import sys

try:
    from smartcard.System import readers
except ImportError as e:  # pragma: no cover
    sys.exit(f"pyscard is not importable by {sys.executable}: {e} (Debian: python3-pyscard)")

APDUS = [
    ("SELECT", "00A4040C07A0000002471001"),  # SELECT eMRTD application, no FCI
    ("READ", "00B09C0000"),  # READ BINARY EF.CardAccess by SFI 1C
    ("CHALLENGE1", "0084000008"),  # GET CHALLENGE, 8 bytes
    ("CHALLENGE2", "0084000008"),
]


def main() -> int:
    name = sys.argv[1] if len(sys.argv) > 1 else "Virtual PCD 00 00"
    try:
        available = readers()
    except Exception as e:
        print(f"cannot list PC/SC readers (is pcscd running?): {e}", file=sys.stderr)
        return 2
    matching = [r for r in available if str(r) == name]
    if not matching:
        names = [str(r) for r in available]
        print(f"no reader named {name!r}; pcscd lists {names}", file=sys.stderr)
        return 2
    conn = matching[0].createConnection()
    conn.connect()
    for label, apdu in APDUS:
        data, sw1, sw2 = conn.transmit(list(bytes.fromhex(apdu)))
        print(f"{label} {sw1:02X}{sw2:02X} {bytes(data).hex().upper()}")
    conn.disconnect()
    return 0


if __name__ == "__main__":
    sys.exit(main())
