"""Message extraction for the catalogs (``make i18n``), in Python so the test suite can check
with the very same rules that no message is missing from ``i18n/messages.pot``."""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import write_po

from ..core.i18n import I18N_DIR
from ..core.settings import REPO_ROOT

# Every way the code marks a translatable message (core/i18n.py, core/errors.py).
KEYWORDS = {
    "translate": (2,),
    "translate_plural": (2, 3),
    "N_": None,
    "Message": None,
    "one": (2,),
    "Problem": (2,),
    "CodedError": None,
}
# Browser scripts (the admin console and the backends' console parts) mark their texts with t("…"),
# and those with plural forms with tn("singular", "plural", count); vendored files are not ours.
SCRIPT_METHODS = [("**/vendor/**", "ignore"), ("**.js", "javascript")]
SCRIPT_KEYWORDS = {"t": None, "tn": (1, 2)}
TEMPLATE = I18N_DIR / "messages.pot"


def extract() -> Catalog:
    catalog = Catalog(project="ireserve-addons", version="0.1.0", fuzzy=False)
    found = [*extract_from_dir(str(REPO_ROOT / "addon"), method_map=[("**.py", "python")], keywords=KEYWORDS,
                               strip_comment_tags=True),
             *extract_from_dir(str(REPO_ROOT / "addon"), method_map=SCRIPT_METHODS, keywords=SCRIPT_KEYWORDS,
                               strip_comment_tags=True)]
    for filename, _lineno, message, _comments, _context in found:
        if "/sandbox/" in filename.replace("\\", "/"):
            continue  # a sandbox speaks for the vendor it stands in for, not for us
        if isinstance(message, str) and message.strip():
            catalog.add(message, flags=("python-brace-format",) if "{" in message else ())
        elif isinstance(message, tuple) and all(isinstance(m, str) and m.strip() for m in message):
            catalog.add(message, flags=("python-brace-format",) if "{" in "".join(message) else ())
    return catalog


def write_template(path: Path = TEMPLATE) -> int:
    catalog = extract()
    with open(path, "wb") as handle:
        write_po(handle, catalog, omit_header=False, sort_output=True, no_location=True, width=100)
    return len(catalog)


if __name__ == "__main__":
    count = write_template(Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE)
    print(f"{count} messages written to the template")
