"""Languages: which catalogs exist, and negotiating a person's language against them (Babel)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from babel import Locale, UnknownLocaleError, negotiate_locale

from .settings import REPO_ROOT

I18N_DIR = REPO_ROOT / "i18n"
DOMAIN = "messages"
FALLBACK_LANGUAGE = "en"


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Languages we have catalogs for (``i18n/<lang>/LC_MESSAGES/messages.po``); English always."""
    found = {p.parent.parent.name for p in I18N_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po")}
    return tuple(sorted(found | {FALLBACK_LANGUAGE}))


def parse_language(code: str | None) -> Locale | None:
    """``nl``, ``nl-NL``, ``nl_BE``, ``NL`` → a Babel Locale; ``None`` for empty or unknown codes."""
    if not code or not code.strip():
        return None
    try:
        return Locale.parse(code.strip().replace("-", "_"))
    except (UnknownLocaleError, ValueError, TypeError):
        return None


def is_language_code(code: str) -> bool:
    """A valid two-letter language code known to Babel (as the admin's default language must be)."""
    locale = parse_language(code)
    return locale is not None and len(code.strip()) == 2 and str(locale) == code.strip().lower()


def match_language(code: str | None, available: tuple[str, ...] | None = None) -> str | None:
    """The available language that best serves ``code`` (``de_CH`` → ``de``), or ``None``."""
    locale = parse_language(code)
    if locale is None:
        return None
    available = available or available_languages()
    candidates = [str(locale), locale.language]
    return negotiate_locale(candidates, list(available), sep="_")


@dataclass(frozen=True)
class LanguageChoice:
    language: str
    source: str  # "customer", "default" or "fallback"
    reason: str


def choose_language(customer_language: str | None, default_language: str | None,
                    available: tuple[str, ...] | None = None) -> LanguageChoice:
    """Customer's language if we support it, else the integration's default, else English."""
    available = available or available_languages()
    matched = match_language(customer_language, available)
    if matched:
        return LanguageChoice(matched, "customer", f"the customer's language {customer_language!r}")
    why = (f"the customer's language {customer_language!r} is not supported"
           if customer_language and customer_language.strip() else "the customer has no language set")
    default = match_language(default_language, available)
    if default:
        return LanguageChoice(default, "default", f"{why}; the integration's default language")
    return LanguageChoice(FALLBACK_LANGUAGE, "fallback", f"{why}; no usable default language, so {FALLBACK_LANGUAGE}")


@lru_cache(maxsize=None)
def _translations(language: str):
    from babel.support import Translations

    # Compiled catalogs (.mo) are built by `make`; without them English text is used as is.
    return Translations.load(str(I18N_DIR), [language], DOMAIN)


def translate(language: str | None, message: str, **params) -> str:
    """``message`` in ``language`` (extracted by ``make i18n`` as keyword ``translate:2``)."""
    text = _translations(language or FALLBACK_LANGUAGE).gettext(message)
    return text.format(**params) if params else text


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (keyword ``N_``)."""
    return message
