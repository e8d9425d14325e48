// The console's texts in the reader's language: their own choice (kept in this browser, and in a
// cookie the sign-in page reads too), else the language the server negotiated from the browser's
// Accept-Language. Messages come from the same catalogs as the server's (make i18n extracts every
// t("...") and tn("...", "...") of these files); plurals follow the language's plural rules.

const STORAGE_KEY = "ireserve.language";
const COOKIE = "ireserve_language";
let messages = {};
let plurals = {};
export let language = "en";

export function languages() {
  return (document.body.dataset.languages || "en").split(" ");
}

export function chosenLanguage() {
  try {
    return localStorage.getItem(STORAGE_KEY);
  } catch {
    return null;
  }
}

export function chooseLanguage(code) {
  try {
    if (code) localStorage.setItem(STORAGE_KEY, code);
    else localStorage.removeItem(STORAGE_KEY);
  } catch {
    // private mode: the choice lasts this page only
  }
  // The sign-in page (no scripts) reads the same choice from this cookie.
  document.cookie = code ? `${COOKIE}=${encodeURIComponent(code)}; path=/; max-age=31536000; samesite=lax`
    : `${COOKIE}=; path=/; max-age=0; samesite=lax`;
}

export async function loadMessages() {
  const wanted = chosenLanguage() || document.body.dataset.language || "en";
  const response = await fetch(`/admin/messages.json?lang=${encodeURIComponent(wanted)}`, { credentials: "same-origin" });
  const body = await response.json();
  messages = body.messages;
  plurals = body.plurals || {};
  language = body.language;
  document.documentElement.lang = language;
}

function fill(text, params) {
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** The message in the reader's language, with {name} placeholders filled in. */
export function t(message, params = {}) {
  return fill(messages[message] || message, params);
}

/** The form of a message for `count` in the reader's language ({count} is filled in too). */
export function tn(singular, plural, count, params = {}) {
  const forms = plurals[singular];
  let text = count === 1 ? singular : plural;
  if (forms) {
    const category = new Intl.PluralRules(language).select(count);
    text = forms[category] || forms.other || text;
  }
  return fill(text, { count, ...params });
}

/** A date and time as the reader writes it, in the given IANA time zone (an object's). */
export function formatTime(value, timeZone) {
  if (!value) return "—";
  const options = { dateStyle: "medium", timeStyle: "short" };
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat(language, options).format(new Date(value));
}

/** A language code (a guest's "de", "nl-BE") as the reader calls that language. */
export function languageName(code) {
  if (!code) return "—";
  try {
    return new Intl.DisplayNames([language], { type: "language" }).of(code) || code;
  } catch {
    return code;
  }
}
