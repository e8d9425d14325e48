// Resivo's part of the admin console: the Authentication tab of the set-up guide — the guide's
// fields, "Save & test connection", and what the test found: the token, the sites and the doors
// with online/offline, or the actionable error. The console imports this module for Resivo
// integrations (addon/resivo/__init__.py registers it) and hands each tab its helpers (kit); the
// logs use its words for its audit keys and its calls.

const ERRORS = "errors { field code message }";
const RESIVO = "resivo { siteOwnerId clientId clientSecretSet siteId targetMobileAppId baseUrl }";

export const tabs = [
  { key: "authentication", label: (t) => t("Authentication"), render: authenticationTab },
];

/** Words for the audit trail's keys of this tab's settings (the guide's labels). */
export function fieldLabels(t) {
  return {
    site_owner_id: t("Site Owner ID"), client_id: t("Client ID"), client_secret: t("Client secret"),
    site_id: t("Site ID"), target_mobile_app_id: t("Target mobile app id"), base_url: t("Base URL"),
  };
}

/** Words for the calls the call log lists. */
export function operationLabels(t) {
  return {
    token: t("Fetch an access token"), list_sites: t("List the sites"), get_site: t("Read the site"),
    list_components: t("List the doors"), create_remote_access: t("Create a door link"),
    get_authorization: t("Read a door link"), find_by_reference: t("Look up a door link by its reference"),
    revoke: t("Revoke a door link"),
  };
}

async function authenticationTab(panel, integration, kit) {
  const { errorsByField, field, gql, h, notice, show, t } = kit;
  let saved = integration.resivo;
  const input = (value, attributes = {}) => h("input", { type: "text", autocomplete: "off", value: value ?? "", ...attributes });
  const controls = {
    siteOwnerId: input(saved?.siteOwnerId),
    clientId: input(saved?.clientId),
    clientSecret: input("", { type: "password", autocomplete: "new-password" }),
    siteId: input(saved?.siteId),
    targetMobileAppId: input(saved?.targetMobileAppId, { inputmode: "numeric" }),
    baseUrl: input(saved?.baseUrl, { type: "url" }),
  };
  const secretHint = () => (saved?.clientSecretSet
    ? t("A secret is stored (it is never shown). Leave this empty to keep it, or type a new one to replace it.")
    : t("The Secret Resivo showed once when the credential was generated."));
  const fields = {
    siteOwnerId: field(t("Site Owner ID"), controls.siteOwnerId, { required: true,
      hint: t("The Customer ID from the Resivo portal (organisation level).") }),
    clientId: field(t("Client ID"), controls.clientId, { required: true }),
    clientSecret: field(t("Client secret"), controls.clientSecret, { required: !saved?.clientSecretSet, hint: secretHint() }),
    siteId: field(t("Site ID"), controls.siteId, { hint: t("Optional: the site whose doors the mapping offers.") }),
    targetMobileAppId: field(t("Target mobile app id"), controls.targetMobileAppId,
      { hint: t("Optional: only for mobile credentials through the Resivo app.") }),
    baseUrl: field(t("Base URL"), controls.baseUrl, { hint: t("Empty: Resivo's own address.") }),
  };
  const advanced = h("div", { id: "advanced-settings", hidden: true }, fields.baseUrl);
  const advancedToggle = h("button", { type: "button", class: "link", "aria-expanded": "false",
    "aria-controls": "advanced-settings", onclick: () => {
      advanced.hidden = !advanced.hidden;
      advancedToggle.setAttribute("aria-expanded", String(!advanced.hidden));
    } }, t("Advanced"));
  const result = h("div", { class: "connection-result", "aria-live": "polite" });
  const button = h("button", { type: "submit" }, t("Save & test connection"));

  const form = h("form", { class: "form", onsubmit: async (event) => {
    event.preventDefault();
    show(result, notice("info", t("Saving and testing …")));
    button.disabled = true;
    try {
      const values = {
        integrationId: integration.id,
        siteOwnerId: controls.siteOwnerId.value.trim(),
        clientId: controls.clientId.value.trim(),
        siteId: controls.siteId.value.trim() || null,
        targetMobileAppId: controls.targetMobileAppId.value.trim() === "" ? null : Number(controls.targetMobileAppId.value),
        baseUrl: controls.baseUrl.value.trim() || null,
      };
      if (!Number.isInteger(values.targetMobileAppId) && values.targetMobileAppId !== null) values.targetMobileAppId = -1;
      if (controls.clientSecret.value) values.clientSecret = controls.clientSecret.value;
      const { setResivoCredentials: answer } = await gql(
        `mutation($input: SetResivoCredentialsInput!) { setResivoCredentials(input: $input) {
          integration { id ${RESIVO} } ${ERRORS} } }`, { input: values });
      const errors = errorsByField(answer.errors);
      for (const [name, wrapper] of Object.entries(fields)) wrapper.setError(errors[name]);
      if (errors.baseUrl) {
        advanced.hidden = false;
        advancedToggle.setAttribute("aria-expanded", "true");
      }
      if (answer.errors.length) {
        show(result, notice("error", t("Not saved: see the fields marked."), " ", errors[""] || ""));
        return;
      }
      saved = answer.integration.resivo;
      controls.clientSecret.value = "";
      controls.baseUrl.value = saved.baseUrl;
      fields.clientSecret.querySelector(".hint").textContent = secretHint();
      controls.clientSecret.required = false;
      await testConnection(integration.id, result, kit);
    } catch (error) {
      show(result, notice("error", error.message));
    } finally {
      button.disabled = false;
    }
  } },
  fields.siteOwnerId, fields.clientId, fields.clientSecret, fields.siteId, fields.targetMobileAppId,
  h("div", { class: "advanced" }, advancedToggle, advanced),
  h("p", { class: "hint" }, h("span", { "aria-hidden": "true" }, "* "), t("Required")),
  button, result);
  show(panel, h("h2", {}, t("Authentication")), form);
}

async function testConnection(integrationId, result, kit) {
  const { gql, h, notice, show, t } = kit;
  const { testDoorConnection: test } = await gql(
    `query($id: ID!) { testDoorConnection(integrationId: $id) { ok message durationMs
      locations { id name timeZone } doors { id name online location { id name } } } }`, { id: integrationId });
  if (!test.ok) {
    show(result, notice("error", h("strong", {}, t("Connection failed.")), " ", test.message));
    return;
  }
  show(result,
    notice("ok", h("strong", {}, t("Saved. Token received.")), " ", test.message, " ",
      t("({ms} ms)", { ms: test.durationMs })),
    h("h3", {}, t("Sites")),
    h("ul", { class: "sites" }, test.locations.map((site) => h("li", {}, `${site.name} (${site.id})`))),
    h("h3", {}, t("Doors")),
    h("table", { class: "doors" },
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Door")), h("th", { scope: "col" }, t("Site")),
        h("th", { scope: "col" }, t("Online")))),
      h("tbody", {}, test.doors.map((door) => h("tr", {},
        h("td", {}, door.name), h("td", {}, door.location.name),
        h("td", {}, h("span", { class: door.online ? "badge badge-ok" : "badge badge-warn" },
          door.online ? t("online") : t("offline"))))))));
}
