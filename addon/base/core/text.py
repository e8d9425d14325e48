"""Which characters text given to the application may hold.

No control characters: a NUL cut off by one program and kept by another, an escape sequence
that repaints a terminal reading the log, a line break that forges a log line or a second
header. Lone surrogates too (a JSON escape such as ``\\ud800`` makes one): no encoding can store
them. Multi-line text (a note) keeps tab, line feed and carriage return; a single line (a name,
a code, an e-mail address) has none of them, nor Unicode's line and paragraph separators — but
around it they are blanks like spaces, trimmed by whoever stores it (a pasted value often ends in
a line break).
"""

from __future__ import annotations

import re

# C0 controls but tab, LF and CR; DEL and the C1 controls; UTF-16 surrogates.
_MULTILINE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SINGLE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


_BLANKS = " \t\n\r"


def control_character(text: str, *, multiline: bool = False) -> str | None:
    """The first character of ``text`` that it may not hold, as ``U+XXXX``; ``None`` when clean."""
    found = _MULTILINE.search(text) if multiline else _SINGLE_LINE.search(text.strip(_BLANKS))
    return f"U+{ord(found.group()):04X}" if found else None
