// The console's texts in the reader's language: their own choice (kept in this browser), else the
// language the server negotiated from the browser's Accept-Language. Messages come from the same
// catalogs as the server's (make i18n extracts every t("...") of these files).

const STORAGE_KEY = "ireserve.language";
let messages = {};
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
}

export async function loadMessages() {
  const wanted = chosenLanguage() || document.body.dataset.language || "en";
  const response = await fetch(`/admin/messages.json?lang=${encodeURIComponent(wanted)}`, { credentials: "same-origin" });
  const body = await response.json();
  messages = body.messages;
  language = body.language;
  document.documentElement.lang = language;
}

/** The message in the reader's language, with {name} placeholders filled in. */
export function t(message, params = {}) {
  const text = messages[message] || message;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole));
}

/** A date and time as the reader writes it, in the given IANA time zone (an object's). */
export function formatTime(value, timeZone) {
  if (!value) return "—";
  const options = { dateStyle: "medium", timeStyle: "short" };
  if (timeZone) options.timeZone = timeZone;
  return new Intl.DateTimeFormat(language, options).format(new Date(value));
}
