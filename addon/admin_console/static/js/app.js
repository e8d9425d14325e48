// The console's frame: who is signed in, the navigation, the language choice, and a router over
// the location's hash (#/integrations, #/access, #/logs) so that every page has its own address.
import { ApiError, csrfToken, gql } from "./api.js";
import { h, notice, show } from "./dom.js";
import { chooseLanguage, chosenLanguage, languages, loadMessages, t } from "./i18n.js";
import { integrationsPage } from "./integrations.js";
import { boardPage, bookingPage } from "./board.js";
import { logsPage } from "./logs.js";

const LANGUAGE_NAMES = { en: "English", nl: "Nederlands", de: "Deutsch", fr: "Français" };

const state = { viewer: null, main: null, leave: null };

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
    chooseLanguage(select.value || null);
    await loadMessages();
    render();
  } },
  h("option", { value: "" }, t("Browser's language")),
  languages().map((code) => h("option", { value: code, selected: chosenLanguage() === code }, LANGUAGE_NAMES[code] || code)));
  return h("div", { class: "language" }, h("label", { for: "language" }, t("Language")), select);
}

async function signOut() {
  await fetch("/admin/logout", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrfToken() } });
  location.assign("/admin/login");
}

function header() {
  return h("header", { class: "top" },
    h("a", { class: "brand", href: "#/" }, "ireserve"),
    navigation(),
    h("div", { class: "who" },
      h("span", {}, t("{name} ({role})", { name: state.viewer.name, role: state.viewer.role.toLowerCase() })),
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

async function render(event) {
  if (state.leave) state.leave();
  state.leave = null;
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
  window.addEventListener("hashchange", render);
  await render();
}

start();
