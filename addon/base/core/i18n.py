"""Languages: which catalogs exist, and negotiating a person's language against them (Babel)."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError, negotiate_locale
from babel.dates import format_date, format_time

from .resources import data_path

I18N_DIR = data_path("i18n")
DOMAIN = "messages"
FALLBACK_LANGUAGE = "en"


@lru_cache(maxsize=1)
def available_languages() -> tuple[str, ...]:
    """Languages we have catalogs for (``i18n/<lang>/LC_MESSAGES/messages.po``); English always."""
    # A checkout has the .po sources; an installed wheel only the compiled .mo.
    found = {p.parent.parent.name for p in I18N_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.[mp]o")}
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
    reason: "Message"


def choose_language(customer_language: str | None, default_language: str | None,
                    available: tuple[str, ...] | None = None) -> LanguageChoice:
    """Customer's language if we support it, else the integration's default, else English."""
    available = available or available_languages()
    matched = match_language(customer_language, available)
    if matched:
        return LanguageChoice(matched, "customer", Message("the customer's language {language!r}",
                                                           {"language": customer_language}))
    if customer_language and customer_language.strip():
        why = Message("the customer's language {language!r} is not supported", {"language": customer_language})
    else:
        why = Message("the customer has no language set")
    default = match_language(default_language, available)
    if default:
        return LanguageChoice(default, "default", Message("{why}; the integration's default language", {"why": why}))
    return LanguageChoice(FALLBACK_LANGUAGE, "fallback", Message("{why}; no usable default language, so {language}",
                                                                 {"why": why, "language": FALLBACK_LANGUAGE}))


@lru_cache(maxsize=None)
def _translations(language: str):
    from babel.support import Translations

    # Compiled catalogs (.mo) are built by `make`; without them English text is used as is.
    return Translations.load(str(I18N_DIR), [language], DOMAIN)


def translate(language: str | None, message: str, /, **params) -> str:
    """``message`` in ``language`` (extracted by ``make i18n`` as keyword ``translate:2``)."""
    text = _translations(language or FALLBACK_LANGUAGE).gettext(message)
    return text.format(**params) if params else text


def translate_plural(language: str | None, singular: str, plural: str, count: int, /, **params) -> str:
    """The form of a message for ``count`` in ``language``, by its plural rules (extracted by
    ``make i18n`` as keyword ``translate_plural:2,3``); ``{count}`` is filled in too."""
    text = _translations(language or FALLBACK_LANGUAGE).ngettext(singular, plural, count)
    return text.format(count=count, **params)


def plural_forms(language: str, singular: str, plural: str) -> dict[str, str]:
    """Every form of a message in ``language``, by CLDR plural category ("one", "other" …), for a
    reader that picks the category itself (a browser's ``Intl.PluralRules``). A category no whole
    number below 1000 falls in is left out (the reader falls back to "other")."""
    rule = Locale.parse(language).plural_form
    translations = _translations(language)
    categories = set(rule.tags) | {"other"}
    forms: dict[str, str] = {}
    for number in range(1000):
        category = rule(number)
        if category not in forms:
            forms[category] = translations.ngettext(singular, plural, number)
        if len(forms) == len(categories):
            break
    return forms


def N_(message: str) -> str:
    """Marks a message for extraction where it is translated later (keyword ``N_``)."""
    return message


@dataclass(frozen=True)
class Message:
    """A message of our own making, kept as template + values so that it can be shown in the
    reader's language later (stored with a grant, answered to a staff member).

    Templates are English ``str.format`` texts marked for extraction with ``Message(...)``.
    """

    template: str
    params: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return self.template.format(**self.params) if self.params else self.template

    def text(self, language: str | None = None) -> str:
        language = language if language is not None else request_language()
        # Values may be messages themselves (a field label) or moments: shown in the same language.
        params = {k: v.text(language) if isinstance(v, Message | Moment) else v for k, v in self.params.items()}
        return translate(language, self.template, **params)

    def as_json(self) -> dict:
        """For storage (e.g. a grant's last error), to be shown later in the reader's language."""
        return {"template": self.template, "params": {k: _param_to_json(v) for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Message":
        return cls(data["template"], {k: _param_from_json(v) for k, v in (data.get("params") or {}).items()})

    @classmethod
    def join(cls, messages: list["Message"]) -> "Message":
        """Several messages shown as one text, each in the reader's language."""
        if len(messages) == 1:
            return messages[0]
        return cls(" ".join("{m%d}" % i for i in range(len(messages))), {f"m{i}": m for i, m in enumerate(messages)})

    @classmethod
    def verbatim(cls, text: str) -> "Message":
        """Text that is not ours to translate (e.g. a lock vendor's own error message)."""
        return cls(_VERBATIM, {"text": text})


_VERBATIM = "{text}"


@dataclass(frozen=True)
class Moment:
    """A moment in a message, shown at a place's wall time in the reader's words ("Sunday,
    6 December 2026 14:30" / "zondag 6 december 2026 14:30"): stored as the instant and the zone,
    so a text recorded for one reader is not frozen in that reader's language."""

    at: datetime
    time_zone: str = "UTC"

    def text(self, language: str | None = None) -> str:
        language = language if language is not None else request_language()
        local = self.at.astimezone(ZoneInfo(self.time_zone))
        return f"{format_date(local, format='full', locale=language)} {format_time(local, format='short', locale=language)}"

    def __str__(self) -> str:
        return self.text(FALLBACK_LANGUAGE)


def _param_to_json(value):
    if isinstance(value, Message):
        return value.as_json()
    if isinstance(value, Moment):
        return {"moment": value.at.isoformat(), "zone": value.time_zone}
    return value if isinstance(value, int | float) else str(value)


def _param_from_json(value):
    if isinstance(value, dict) and "template" in value:
        return Message.from_json(value)
    if isinstance(value, dict) and "moment" in value:
        return Moment(datetime.fromisoformat(value["moment"]), value.get("zone") or "UTC")
    return value


# The language of the person making the current request (set from Accept-Language).
_request_language: ContextVar[str] = ContextVar("request_language", default=FALLBACK_LANGUAGE)


def request_language() -> str:
    return _request_language.get()


def set_request_language(language: str) -> None:
    _request_language.set(language)


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags of an Accept-Language header, most preferred first (RFC 9110 q-values)."""
    weighted = []
    for position, part in enumerate((header or "").split(",")):
        tag, _, params = part.strip().partition(";")
        if not tag or tag == "*":
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def language_from_header(header: str | None, available: tuple[str, ...] | None = None) -> str:
    """The best available language for an Accept-Language header; English when none fits."""
    for tag in parse_accept_language(header):
        matched = match_language(tag, available)
        if matched:
            return matched
    return FALLBACK_LANGUAGE
