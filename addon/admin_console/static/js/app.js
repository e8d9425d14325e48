// The console's frame: who is signed in, the navigation, the language choice, and a router over
// the location's hash (#/integrations, #/access, #/logs) so that every page has its own address.
// A page with unsaved changes says so (its `dirty()`); leaving it then asks first, whether by a
// link of the console or by closing or reloading the tab.
import { ApiError, csrfToken, gql } from "./api.js";
import { confirmDialog, h, notice, show } from "./dom.js";
import { chooseLanguage, chosenLanguage, languages, loadMessages, t } from "./i18n.js";
import { integrationsPage } from "./integrations.js";
import { boardPage, bookingPage } from "./board.js";
import { logsPage } from "./logs.js";
import { guardChanges, hasUnsaved } from "./guard.js";
import { roleWord } from "./words.js";

const LANGUAGE_NAMES = { en: "English", nl: "Nederlands", de: "Deutsch", fr: "Français" };

const state = { viewer: null, main: null, leave: null, here: location.hash, returning: false };

function navigation() {
  const links = [
    state.viewer.role === "ADMIN" ? ["#/integrations", t("Integrations")] : null,
    ["#/access", t("Door access")],
    state.viewer.role === "ADMIN" ? ["#/logs", t("Logs")] : null,
  ].filter(Boolean);
  const current = location.hash.split("/")[1] || "";
  return h("nav", { "aria-label": t("Main") },
    h("ul", {}, links.map(([href, label]) => h("li", {},
      h("a", { href, "aria-current": href.split("/")[1] === current ? "page" : null }, label))),
    h("li", {}, h("a", { href: "/graphql" }, "GraphiQL"))));
}

function languagePicker() {
  const select = h("select", { id: "language", onchange: async () => {
    if (!(await mayLeave())) {  // the page is drawn anew in the new language
      select.value = chosenLanguage() || "";
      return;
    }
    chooseLanguage(select.value || null);
    await loadMessages();
    render();
  } },
  h("option", { value: "" }, t("Browser's language")),
  languages().map((code) => h("option", { value: code, selected: chosenLanguage() === code, lang: code },
    LANGUAGE_NAMES[code] || code)));
  return h("div", { class: "language" }, h("label", { for: "language" }, t("Language")), select);
}

async function signOut() {
  if (!(await mayLeave())) return;
  guardChanges(null);
  await fetch("/admin/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() } });
  location.assign("/admin/login");
}

function header() {
  return h("header", { class: "top" },
    h("a", { class: "brand", href: "#/" }, "ireserve"),
    navigation(),
    h("div", { class: "who" },
      h("span", {}, t("{name} ({role})", { name: state.viewer.name, role: roleWord(state.viewer.role) })),
      languagePicker(),
      h("button", { type: "button", onclick: signOut }, t("Sign out"))));
}

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [page, ...rest] = parts;
  if (page === "integrations") return (main) => integrationsPage(main, rest, state.viewer);
  if (page === "access" && rest[0] === "booking") return (main) => bookingPage(main, rest[1], state.viewer);
  if (page === "access") return (main) => boardPage(main, state.viewer);
  if (page === "logs") return (main) => logsPage(main, state.viewer);
  return null;
}

/** Whether the page may be left: yes when nothing is unsaved, else the reader decides. */
async function mayLeave() {
  if (!hasUnsaved()) return true;
  return confirmDialog({
    title: t("Leave without saving?"),
    body: h("p", {}, t("Your changes on this page are not saved. If you leave, they are lost.")),
    confirm: t("Leave and lose the changes"), cancel: t("Stay on this page"), danger: true,
  });
}

async function onHashChange(event) {
  if (state.returning) {  // our own step back to the page being left
    state.returning = false;
    return;
  }
  if (hasUnsaved()) {
    const wanted = location.hash;
    state.returning = true;
    location.hash = state.here;  // stay until the reader decides
    if (!(await mayLeave())) return;
    guardChanges(null);
    location.hash = wanted;
    return;
  }
  await render(event);
}

async function render(event) {
  if (state.leave) state.leave();
  state.leave = null;
  guardChanges(null);
  state.here = location.hash;
  const open = route();
  if (!open) {
    location.replace(state.viewer.role === "ADMIN" ? "#/integrations" : "#/access");
    return;
  }
  const main = h("main", { id: "main", tabindex: "-1" });
  show(document.getElementById("app"),
    h("a", { class: "skip", href: "#main", onclick: (event) => { event.preventDefault(); main.focus(); } },
      t("Skip to the content")),
    header(), main);
  // After following a link, reading goes on at the new page's content (not at the top of the frame).
  if (event && event.type === "hashchange") main.focus();
  try {
    state.leave = (await open(main)) || null;
  } catch (error) {
    show(main, notice("error", error instanceof ApiError ? error.message : String(error)));
  }
}

async function start() {
  await loadMessages();
  try {
    state.viewer = (await gql("{ viewer { kind name role email } }")).viewer;
  } catch (error) {
    show(document.getElementById("app"), notice("error", error.message));
    return;
  }
  window.addEventListener("hashchange", onHashChange);
  // Closing or reloading the tab with unsaved changes: the browser asks (in its own words).
  window.addEventListener("beforeunload", (event) => {
    if (hasUnsaved()) {
      event.preventDefault();
      event.returnValue = "";
    }
  });
  await render();
}

start();
