// Integrations: the list, "Add integration", and one integration's tabs as in the set-up guide:
// the backend's own tabs (Authentication, and any other its guide has), Details, Mapping,
// Activate. The backend's tabs come from the part it registered (/admin/parts.json): the console
// names no vendor itself. What Details and Activate say depends on the integration's access model
// (a credential the lock system issues, or a lock that opens on request), never on its backend.
import { errorsByField, gql } from "./api.js";
import { confirmDialog, field, h, notice, selected, show, word } from "./dom.js";
import { formatTime, t, tn } from "./i18n.js";
import { mappingTab } from "./mapping.js";
import { consoleParts, partModule } from "./parts.js";
import { ON_REQUEST, accessModelWord } from "./words.js";

const ERRORS = "errors { field code message }";
const INTEGRATION = `id name backend accessModel active triggerStatuses revokeStatuses timeBeforeMinutes
  authorizationIdField defaultLanguage openActionField checkinStatus`;

export async function integrationsPage(main, path, viewer) {
  if (viewer.role !== "ADMIN") {
    show(main, h("h1", {}, t("Integrations")),
      notice("error", t("Only administrators can open the integration settings.")));
    return;
  }
  const [id, tab] = path;
  if (!id) return listPage(main);
  if (id === "new") return addPage(main);
  return integrationPage(main, id, tab);
}

async function listPage(main) {
  const { doorIntegrations, doorBackends } = await gql(`{ doorIntegrations { ${INTEGRATION} } doorBackends { name label } }`);
  const labels = new Map(doorBackends.map((b) => [b.name, b.label]));
  show(main,
    h("h1", {}, t("Integrations")),
    h("p", {}, h("a", { class: "button", href: "#/integrations/new" }, t("Add integration"))),
    doorIntegrations.length === 0
      ? h("div", { class: "empty-state" }, h("h2", {}, t("No integrations yet")),
        h("p", {}, t("An integration connects a lock system: add one, then follow its tabs — Authentication, "
          + "Details, Mapping, Activate.")))
      : h("table", {},
        h("caption", { class: "visually-hidden" }, t("Integrations")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Name")), h("th", { scope: "col" }, t("Backend")),
          h("th", { scope: "col" }, t("State")))),
        h("tbody", {}, doorIntegrations.map((integration) => h("tr", {},
          h("td", {}, h("a", { href: `#/integrations/${encodeURIComponent(integration.id)}/authentication` }, integration.name)),
          h("td", {}, word(labels.get(integration.backend) || integration.backend, integration.backend)),
          h("td", {}, activeBadge(integration.active)))))));
}

export function activeBadge(active) {
  return h("span", { class: active ? "badge badge-ok" : "badge" }, active ? t("Active") : t("Inactive"));
}

async function addPage(main) {
  const { doorBackends } = await gql("{ doorBackends { name label accessModel } }");
  const models = new Map(doorBackends.map((b) => [b.name, b.accessModel]));
  const backend = h("select", {}, doorBackends.map((b) => h("option", { value: b.name }, b.label)));
  const name = h("input", { type: "text", maxlength: "200" });
  const backendField = field(t("Backend"), backend, { required: true, hint: " " });
  const modelHint = backendField.querySelector(".hint");
  const describe = () => { modelHint.textContent = accessModelWord(models.get(backend.value)); };
  backend.addEventListener("change", describe);
  describe();
  const nameField = field(t("Name"), name, { hint: t("Empty: the backend's name.") });
  const message = h("div");
  const form = h("form", { class: "form", onsubmit: async (event) => {
    event.preventDefault();
    show(message);
    try {
      const { createDoorIntegration: result } = await gql(
        `mutation($input: CreateDoorIntegrationInput!) { createDoorIntegration(input: $input) { integration { id } ${ERRORS} } }`,
        { input: { backend: backend.value, name: name.value.trim() || null } });
      const errors = errorsByField(result.errors);
      backendField.setError(errors.backend);
      nameField.setError(errors.name);
      if (result.integration) location.hash = `#/integrations/${encodeURIComponent(result.integration.id)}/authentication`;
      else if (errors[""]) show(message, notice("error", errors[""]));
    } catch (error) {
      show(message, notice("error", error.message));
    }
  } },
  backendField, nameField, message,
  h("button", { type: "submit" }, t("Add integration")));
  show(main, h("h1", {}, t("Add integration")), form);
}

// What every tab of a backend's part is handed besides its panel and the integration.
const KIT = { confirmDialog, errorsByField, field, formatTime, gql, h, notice, show, t, tn, word };

// A backend without a console part of its own still has the guide's first tab.
const NO_PART_TABS = [{
  key: "authentication",
  label: () => t("Authentication"),
  render: (panel) => show(panel, h("h2", {}, t("Authentication")),
    notice("info", t("This backend has no settings in the console; use its GraphQL mutation."))),
}];

async function backendTabs(part) {
  if (!part) return NO_PART_TABS;
  const module = await partModule(part);
  return module.tabs;
}

let keepTabFocus = false;

async function integrationPage(main, id, tab) {
  const known = await consoleParts();
  // Every part's fields: each answers null on an integration of another backend.
  const query = `query($id: ID!) { doorIntegration(id: $id) { ${INTEGRATION}
    ${known.map((part) => part.fields).join(" ")} } }`;
  const { doorIntegration: integration } = await gql(query, { id });
  if (!integration) {
    show(main, notice("error", t("This integration does not exist (any more).")));
    return;
  }
  const own = await backendTabs(known.find((part) => part.backend === integration.backend));
  const tabs = [
    ...own.map((part) => [part.key, () => part.label(t), (panel) => part.render(panel, integration, KIT)]),
    ["details", () => t("Details"), (panel) => detailsTab(panel, integration)],
    ["mapping", () => t("Mapping"), (panel) => mappingTab(panel, integration)],
    ["activate", () => t("Activate"), (panel) => activateTab(panel, integration, () => integrationPage(main, id, tab))],
  ];
  if (!tabs.some(([key]) => key === tab)) tab = tabs[0][0];
  const panel = h("section", { role: "tabpanel", id: "tab-panel", tabindex: "0" });
  const buttons = tabs.map(([key, label]) => h("button", {
    type: "button", role: "tab", id: `tab-${key}`, "aria-controls": "tab-panel",
    "aria-selected": key === tab ? "true" : "false", tabindex: key === tab ? "0" : "-1",
    onclick: () => { location.hash = `#/integrations/${encodeURIComponent(id)}/${key}`; },
  }, label()));
  const tablist = h("div", { role: "tablist", "aria-label": t("Integration settings"), onkeydown: (event) => {
    const index = buttons.indexOf(document.activeElement);
    if (index < 0) return;
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    event.preventDefault();
    const next = buttons[(index + step + buttons.length) % buttons.length];
    keepTabFocus = true;  // the page is drawn anew for the tab's address: focus its tab again
    next.click();
  } }, buttons);
  panel.setAttribute("aria-labelledby", `tab-${tab}`);
  show(main,
    h("p", {}, h("a", { href: "#/integrations" }, t("All integrations"))),
    h("h1", {}, integration.name, " ", activeBadge(integration.active)),
    tablist, panel);
  if (keepTabFocus) buttons.find((b) => b.getAttribute("aria-selected") === "true").focus();
  keepTabFocus = false;
  return tabs.find(([key]) => key === tab)[2](panel);
}

// -- Details ---------------------------------------------------------------------------------

// The Details fields of each access model, in the set-up guides' words: a credential the lock
// system issues (trigger and revoke statuses, the field its id is kept in) or a lock that opens on
// request (the statuses it may open from, the open-action field, the check-in status).
function detailsFields(integration, statuses, bookingFields) {
  const statusSelect = (chosen) => h("select", { multiple: true, size: String(Math.min(6, statuses.length)) },
    statuses.map((s) => h("option", { value: s.code, selected: chosen.includes(s.code) }, s.name)));
  const fieldSelect = (chosen) => h("select", {},
    h("option", { value: "" }, t("— none —")),
    bookingFields.map((f) => h("option", { value: f.code, selected: f.code === chosen, title: f.code }, f.label)));
  const before = h("input", { type: "number", min: "0", step: "1", value: String(integration.timeBeforeMinutes) });
  const language = h("input", { type: "text", maxlength: "35", value: integration.defaultLanguage, autocomplete: "off" });
  const multiHint = t("Ctrl or Cmd + click, or Shift + arrows, chooses several.");
  const minutes = () => {
    const value = before.value.trim() === "" ? null : Number(before.value);
    return Number.isInteger(value) ? value : -1;
  };
  if (integration.accessModel === ON_REQUEST) {
    const trigger = statusSelect(integration.triggerStatuses);
    const openField = fieldSelect(integration.openActionField);
    const checkin = h("select", {},
      h("option", { value: "" }, t("— none: the status stays —")),
      statuses.map((s) => h("option", { value: s.code, selected: s.code === integration.checkinStatus }, s.name)));
    return {
      fields: {
        triggerStatuses: field(t("Lock may open from status"), trigger,
          { hint: `${t("The statuses at which the guest's link opens the doors; at any other status it does not.")} ${multiHint}` }),
        timeBeforeMinutes: field(t("Time before (minutes)"), before,
          { hint: t("Minutes before the booking start from which the lock may open (0 = at the start); it may open "
            + "until the booking end.") }),
        openActionField: field(t("Open-action field"), openField,
          { hint: t("The booking field in which the time of the first opening is recorded. Required to activate.") }),
        checkinStatus: field(t("Check-in status"), checkin,
          { hint: t("The status a booking moves to at its first opening; choose one the lock may open from.") }),
        defaultLanguage: field(t("Default language (fallback)"), language,
          { hint: t("Two-letter code (nl, en, de …) of the guest's message when the guest has no language.") }),
      },
      values: () => ({
        triggerStatuses: selected(trigger), timeBeforeMinutes: minutes(), openActionField: openField.value,
        checkinStatus: checkin.value || null, defaultLanguage: language.value.trim(),
      }),
    };
  }
  const trigger = statusSelect(integration.triggerStatuses);
  const revoke = statusSelect(integration.revokeStatuses);
  const authField = fieldSelect(integration.authorizationIdField);
  return {
    fields: {
      triggerStatuses: field(t("Trigger statuses (create)"), trigger, { hint: multiHint }),
      revokeStatuses: field(t("Revoke statuses"), revoke, { hint: multiHint }),
      timeBeforeMinutes: field(t("Time before (minutes)"), before,
        { hint: t("Minutes before the start that access becomes valid (0 = at the start).") }),
      authorizationIdField: field(t("Booking field for authorisation id"), authField,
        { hint: t("Required to revoke access.") }),
      defaultLanguage: field(t("Default language (fallback)"), language,
        { hint: t("Two-letter code (nl, en, de …) used when the guest has no language.") }),
    },
    values: () => ({
      triggerStatuses: selected(trigger), revokeStatuses: selected(revoke), timeBeforeMinutes: minutes(),
      authorizationIdField: authField.value, defaultLanguage: language.value.trim(),
    }),
  };
}

async function detailsTab(panel, integration) {
  const { bookingStatuses, bookingFields } = await gql("{ bookingStatuses { code name } bookingFields { code label } }");
  const { fields, values } = detailsFields(integration, bookingStatuses, bookingFields);
  const message = h("div");
  const form = h("form", { class: "form", onsubmit: async (event) => {
    event.preventDefault();
    show(message);
    try {
      const { updateDoorIntegration: result } = await gql(
        `mutation($input: UpdateDoorIntegrationInput!) { updateDoorIntegration(input: $input) { integration { id } ${ERRORS} } }`,
        { input: { id: integration.id, ...values() } });
      const errors = errorsByField(result.errors);
      for (const [name, wrapper] of Object.entries(fields)) wrapper.setError(errors[name]);
      const other = Object.entries(errors).filter(([name]) => !(name in fields)).map(([, text]) => text);
      if (result.errors.length) show(message, notice("error", t("Not saved: see the fields marked."), " ", other.join(" ")));
      else show(message, notice("ok", t("Saved.")));
    } catch (error) {
      show(message, notice("error", error.message));
    }
  } },
  Object.values(fields), message, h("button", { type: "submit" }, t("Save")));
  show(panel, h("h2", {}, t("Details")),
    h("p", { class: "hint access-model" }, word(accessModelWord(integration.accessModel), integration.accessModel)),
    form);
}

// -- Activate --------------------------------------------------------------------------------

// What activating and deactivating mean, by access model.
function activationWords(integration) {
  if (integration.accessModel === ON_REQUEST) {
    return {
      running: t("Bookings at a status the lock may open from get an open link; at any other status the link "
        + "stops opening doors."),
      ready: (count) => tn("Ready. Activating gives an open link to {count} booking already at a status the lock may "
        + "open from.", "Ready. Activating gives an open link to {count} bookings already at a status the lock may "
        + "open from.", count),
      activated: (count) => tn("Active. {count} booking is getting its open link.",
        "Active. {count} bookings are getting their open links.", count),
      deactivate: t("Guests' open links stop opening doors until it is activated again; nothing else changes."),
      deactivated: t("Deactivated. The open links do not open doors now."),
    };
  }
  return {
    running: t("Bookings reaching a trigger status get door access; a revoke status takes it away."),
    ready: (count) => tn("Ready. Activating gives access to {count} booking already at a trigger status.",
      "Ready. Activating gives access to {count} bookings already at a trigger status.", count),
    activated: (count) => tn("Active. {count} booking is being granted access.",
      "Active. {count} bookings are being granted access.", count),
    deactivate: t("No new door access is given through it and no access is changed: links already sent "
      + "keep working until their stay ends. Activate it again to go on."),
    deactivated: t("Deactivated. No new door access is given."),
  };
}

async function activateTab(panel, integration, reload) {
  const words = activationWords(integration);
  const message = h("div");
  const problemsList = (problems) => h("ul", { class: "problems" }, problems.map((p) => h("li", {}, p.message)));
  const toggle = async (active) => {
    show(message);
    try {
      const { setDoorIntegrationActive: result } = await gql(
        `mutation($input: SetDoorIntegrationActiveInput!) { setDoorIntegrationActive(input: $input) {
          integration { id active } grantsQueued ${ERRORS} } }`,
        { input: { integrationId: integration.id, active } });
      if (result.errors.length) {
        show(message, notice("error", h("p", {}, t("The integration was not activated:")), problemsList(result.errors)));
        return;
      }
      await reload();
      const main = document.querySelector("#tab-panel .activation-result");
      if (main) {
        show(main, notice("ok", active ? words.activated(result.grantsQueued) : words.deactivated));
      }
    } catch (error) {
      show(message, notice("error", error.message));
    }
  };
  let preview = null;
  if (!integration.active) {
    ({ activationPreview: preview } = await gql(
      "query($id: ID!) { activationPreview(integrationId: $id) { canActivate bookingsToGrant problems { field code message } } }",
      { id: integration.id }));
  }
  show(panel,
    h("h2", {}, t("Activate")),
    h("div", { class: "activation-result" }),
    h("p", {}, t("State:"), " ", activeBadge(integration.active)),
    integration.active
      ? [h("p", {}, words.running),
        h("button", { type: "button", class: "danger", onclick: async () => {
          const confirmed = await confirmDialog({
            title: t("Deactivate {name}?", { name: integration.name }),
            body: h("p", {}, words.deactivate),
            confirm: t("Deactivate"), cancel: t("Cancel"), danger: true,
          });
          if (confirmed) await toggle(false);
        } }, t("Deactivate"))]
      : [preview.canActivate
        ? h("p", {}, words.ready(preview.bookingsToGrant))
        : h("div", {}, h("p", {}, t("Before activating, fix:")), problemsList(preview.problems)),
      h("button", { type: "button", onclick: () => toggle(true) }, t("Activate"))],
    message,
    archiveSection(integration));
}

// -- Archive ---------------------------------------------------------------------------------

function archiveSection(integration) {
  const message = h("div", { "aria-live": "polite" });
  const choice = (value, label, checked) => {
    const input = h("input", { type: "radio", name: "live-access", value, checked, id: `live-access-${value}` });
    return [input, h("label", { for: input.id }, label)];
  };
  const options = h("fieldset", { class: "choices" },
    h("legend", {}, t("Door links it has given that are still valid")),
    h("div", {}, ...choice("KEEP_UNTIL_END", t("Keep each one until its stay ends"), true)),
    h("div", {}, ...choice("REVOKE_NOW", t("Revoke them all now"), false)));
  const archive = async () => {
    const liveAccess = options.querySelector("input:checked").value;
    const confirmed = await confirmDialog({
      title: t("Archive {name}?", { name: integration.name }),
      body: [h("p", {}, t("It is deactivated for good and hidden from the list; its history stays. It can be "
        + "restored (inactive) through the API.")),
      h("p", {}, liveAccess === "REVOKE_NOW" ? t("Every door link it has given is revoked now.")
        : t("Door links it has given keep working until their stay ends."))],
      confirm: t("Archive"), cancel: t("Cancel"), danger: true,
    });
    if (!confirmed) return;
    try {
      const { archiveDoorIntegration: result } = await gql(
        `mutation($input: ArchiveDoorIntegrationInput!) { archiveDoorIntegration(input: $input) {
          integration { id } grantsRevoked ${ERRORS} } }`, { input: { id: integration.id, liveAccess } });
      if (result.errors.length) {
        show(message, notice("error", result.errors.map((e) => e.message).join(" ")));
        return;
      }
      location.hash = "#/integrations";
    } catch (error) {
      show(message, notice("error", error.message));
    }
  };
  return h("section", { class: "archive", "aria-labelledby": "archive-title" },
    h("h3", { id: "archive-title" }, t("Archive")),
    h("p", {}, t("Archive an integration you no longer use: it stops for good, and its bookings' history stays.")),
    options, h("button", { type: "button", class: "danger", onclick: archive }, t("Archive")), message);
}
