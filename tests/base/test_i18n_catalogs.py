"""The catalogs are complete: every message the code marks is in the template, and every
catalog translates every message of the template (none empty, none fuzzy)."""

import pytest
from babel.messages.pofile import read_po

from addon.base.core.i18n import I18N_DIR, available_languages
from addon.base.tools.i18n_catalogs import TEMPLATE, extract

REQUIRED_LANGUAGES = {"en", "nl", "de", "fr"}


def template_ids() -> set[str]:
    with open(TEMPLATE, "rb") as handle:
        return {m.id for m in read_po(handle) if m.id}


def test_required_languages_have_catalogs():
    assert REQUIRED_LANGUAGES <= set(available_languages())


def test_every_message_in_the_code_is_in_the_template():
    in_code = {m.id for m in extract() if m.id}
    missing = sorted(in_code - template_ids())
    assert not missing, f"run 'make i18n' and translate: {missing}"


def test_template_holds_no_message_the_code_dropped():
    stale = sorted(template_ids() - {m.id for m in extract() if m.id})
    assert not stale, f"run 'make i18n': {stale}"


@pytest.mark.parametrize("language", sorted(REQUIRED_LANGUAGES))
def test_catalog_translates_everything(language):
    with open(I18N_DIR / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    entries = {m.id: m for m in catalog if m.id}
    assert set(entries) == template_ids(), "catalog out of step with the template: run 'make i18n'"
    untranslated = [m.id for m in entries.values()
                    if not m.string or (isinstance(m.string, tuple) and not all(m.string))]
    fuzzy = [m.id for m in entries.values() if m.fuzzy]
    assert not untranslated, f"{language}: untranslated {untranslated}"
    assert not fuzzy, f"{language}: fuzzy {fuzzy}"


@pytest.mark.parametrize("language", sorted(REQUIRED_LANGUAGES))
def test_translations_keep_the_placeholders(language):
    import string

    with open(I18N_DIR / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)

    def fields(text):
        return sorted(f for _, f, _, _ in string.Formatter().parse(text) if f)

    def broken_entry(m) -> bool:
        if isinstance(m.id, tuple):  # every form of a plural keeps the plural's placeholders
            return any(fields(form) != fields(m.id[1]) for form in m.string)
        return fields(m.id) != fields(m.string)

    broken = [m.id for m in catalog if m.id and broken_entry(m)]
    assert not broken, f"{language}: placeholders differ in {broken}"


@pytest.mark.parametrize("language", sorted(REQUIRED_LANGUAGES - {"en"}))
def test_plural_messages_have_every_form_of_the_language(language):
    """A message with plural forms (ngettext) has as many forms as the language's rules."""
    with open(I18N_DIR / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        catalog = read_po(handle)
    plurals = [m for m in catalog if m.id and isinstance(m.id, tuple)]
    assert plurals, "the console's counts use plural forms"
    assert all(len(m.string) == catalog.num_plurals for m in plurals)
