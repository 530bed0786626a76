"""Searches the logs of a whole test-suite run for secrets (see tests/common/leaks.rs).

Usage: python3 tests/leak_scan.py DIR

DIR holds *.log (every test process's TRACE log and every gateway binary's debug log) and
*.secrets (one secret per line: the tenant and JWT secrets, every token minted, every
signature the API emulator received). A hit is any whole secret, or any 16-character
piece of a signature or of a token's signature part, found in any log. Exits 1 on a hit.

A whole suite writes a few hundred MB of logs and tens of thousands of secrets, so the
scan is one pass per log: a piece can only sit inside a run of the characters secrets are
made of, so a regular expression (in C) finds those runs and only their 16-character
windows are looked up in the set of pieces. Secrets too short to have a piece are found
with one alternation. Both are exact: nothing a plain substring search would find is missed.
"""

import pathlib
import re
import sys

WINDOW = 16


def signed_part(secret: str) -> str:
    """A JWT's signature part; any other secret whole."""
    return secret.rsplit(".", 1)[-1] if secret.count(".") == 2 else secret


def pieces(secret: str):
    """The 16-character windows that must not appear."""
    part = signed_part(secret)
    return {part[i : i + WINDOW] for i in range(len(part) - WINDOW + 1)}


def main() -> int:
    root = pathlib.Path(sys.argv[1])
    secrets = set()
    for f in root.glob("*.secrets"):
        secrets.update(line.strip() for line in f.read_text().splitlines() if len(line.strip()) >= 8)
    windows = set()
    short = set()  # too short for a window of their own: searched for whole
    for s in secrets:
        own = pieces(s)
        windows |= own
        if not own:
            short.add(s)
    # Any secret that contains a window is found through that window: a whole secret in a
    # log contains its (signature) part, and so every window of it.
    alphabet = sorted({c for w in windows for c in w})
    runs = re.compile("[" + "".join(re.escape(c) for c in alphabet) + "]{%d,}" % WINDOW) if alphabet else None
    whole = re.compile("|".join(re.escape(s) for s in sorted(short, key=len, reverse=True))) if short else None

    logs = sorted(root.glob("*.log"))
    size = 0
    hits = []
    for log in logs:
        text = log.read_text(errors="replace")
        size += len(text)
        if whole is not None:
            for m in whole.finditer(text):
                hits.append((log.name, m.group(0)[:6] + "…"))
                break
        if runs is None:
            continue
        found = None
        for m in runs.finditer(text):
            run = m.group(0)
            for i in range(len(run) - WINDOW + 1):
                if run[i : i + WINDOW] in windows:
                    found = run[i : i + WINDOW]
                    break
            if found:
                break
        if found:
            hits.append((log.name, found[:6] + "…"))
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
