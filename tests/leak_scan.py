"""Searches the logs of a whole test-suite run for secrets (see tests/common/leaks.rs).

Usage: python3 tests/leak_scan.py DIR

DIR holds *.log (every test process's TRACE log and every gateway binary's debug log) and
*.secrets (one secret per line: the tenant and JWT secrets, every token minted, every
signature the API emulator received). A hit is any whole secret, or any 16-character
piece of a signature or of a token's signature part, found in any log. Exits 1 on a hit.
"""

import pathlib
import sys

WINDOW = 16


def pieces(secret: str):
    """The 16-character windows that must not appear."""
    part = secret.rsplit(".", 1)[-1] if secret.count(".") == 2 else secret
    return {part[i : i + WINDOW] for i in range(len(part) - WINDOW + 1)}


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    secrets = set()
    for f in root.glob("*.secrets"):
        secrets.update(line.strip() for line in f.read_text().splitlines() if len(line.strip()) >= 8)
    windows = set()
    for s in secrets:
        windows |= pieces(s)
    logs = sorted(root.glob("*.log"))
    size = 0
    hits = []
    for log in logs:
        text = log.read_text(errors="replace")
        size += len(text)
        for s in secrets:
            if s in text:
                hits.append((log.name, s[:6] + "…"))
        for i in range(len(text) - WINDOW + 1):
            w = text[i : i + WINDOW]
            if w in windows:
                hits.append((log.name, w[:6] + "…"))
                break
    print(
        f"leak scan: {len(logs)} logs, {size / 1e6:.1f} MB, {len(secrets)} secrets, "
        f"{len(windows)} 16-character pieces: {len(hits)} found"
    )
    for name, what in hits[:20]:
        print(f"  LEAK in {name}: {what}")
    if not logs or not secrets:
        print("leak scan: nothing to scan (was TOOLBRIDGE_LEAK_DIR set for the test run?)")
        return 1
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
