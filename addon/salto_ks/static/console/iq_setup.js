// The IQ OTP setup of a Salto KS integration, in the set-up guide's steps: 1. the IQ id, 2. GET PIN
// (the IQ's current pin, shown here once), 3. a new 4-digit pin, 4. Set PIN (signed with the
// one-time password of the current pin); the status then reads "IQ is activated". Refusals say
// what happened and what to do: an offline IQ, a refused one-time password (the server clock), a
// PIN changed outside the booking system.
import { SALTO_KS } from "./authentication.js";

const ERRORS = "errors { field code message }";

export async function iqSetupTab(panel, integration, kit) {
  const { errorsByField, field, gql, h, notice, show, t } = kit;
  let saved = integration.saltoKs;
  const heading = [h("h2", {}, t("IQ OTP setup")),
    h("p", {}, t("Required before any lock can be opened: the system signs every open command with a one-time "
      + "password of the IQ, made from its PIN."))];
  if (!saved?.siteId) {
    show(panel, heading, h("div", { class: "empty-state" },
      h("h3", {}, t("The Site ID is needed first")),
      h("p", {}, t("Fill in the Authentication tab and press Resolve site ID; then come back here.")),
      h("p", {}, h("a", { href: `#/integrations/${encodeURIComponent(integration.id)}/authentication` },
        t("Open the Authentication tab")))));
    return;
  }

  const status = h("p", { class: "iq-status", "aria-live": "polite" });
  const showStatus = () => show(status, t("Status:"), " ",
    h("span", { class: saved.iqActivated ? "badge badge-ok" : "badge badge-warn", dataset: {
      activated: String(saved.iqActivated) } }, saved.iqStatus));
  const iqId = h("input", { type: "text", autocomplete: "off", spellcheck: "false", value: saved.iqId || "" });
  const currentPin = h("input", { type: "text", readonly: true, class: "read-only pin", autocomplete: "off", value: "" });
  const newPin = h("input", { type: "text", inputmode: "numeric", maxlength: "4", pattern: "[0-9]{4}",
    autocomplete: "off", class: "pin" });
  const fields = {
    iqId: field(t("IQ id"), iqId, { required: true, hint: t("The IQ gateway's id (a UUID) in Salto KS; the IQ must be "
      + "online and linked to the site.") }),
    currentPin: field(t("Current pin"), currentPin, { hint: t("GET PIN shows the IQ's pin here, this once.") }),
    newPin: field(t("New pin"), newPin, { required: true, hint: t("4 digits.") }),
  };
  const result = h("div", { class: "iq-result", "aria-live": "polite" });
  const getButton = h("button", { type: "button" }, t("GET PIN"));
  const setButton = h("button", { type: "button" }, t("Set PIN"));

  // What each refusal means, above the server's own words (which say what to do).
  const titles = {
    IQ_OFFLINE: t("The IQ is offline."),
    OTP_REJECTED: t("The IQ refused the one-time password."),
    PIN_CHANGED_ELSEWHERE: t("The PIN was changed outside the booking system."),
    NOT_FOUND: t("This IQ is not known on the site."),
    BACKEND_UNAVAILABLE: t("Salto KS did not answer."),
    CREDENTIALS_REJECTED: t("The account was refused."),
  };
  const refused = async (errors) => {
    const found = errorsByField(errors);
    for (const [name, wrapper] of Object.entries(fields)) wrapper.setError(found[name]);
    show(result, notice("error", errors.map((e) => h("p", { dataset: { code: e.code } },
      titles[e.code] ? [h("strong", {}, titles[e.code]), " "] : null, e.message))));
    // A refusal may have withdrawn the activation (a PIN changed elsewhere): read the status again.
    const { doorIntegration } = await gql(`query($id: ID!) { doorIntegration(id: $id) { id ${SALTO_KS} } }`,
      { id: integration.id });
    if (doorIntegration?.saltoKs) {
      saved = doorIntegration.saltoKs;
      showStatus();
    }
  };
  const clearErrors = () => Object.values(fields).forEach((wrapper) => wrapper.setError(null));
  const run = (waiting, work) => async () => {
    clearErrors();
    show(result, notice("info", waiting));
    getButton.disabled = setButton.disabled = true;
    try {
      await work();
    } catch (error) {
      show(result, notice("error", error.message));
    } finally {
      getButton.disabled = setButton.disabled = false;
    }
  };

  getButton.addEventListener("click", run(t("Asking the IQ for its current pin …"), async () => {
    const { getSaltoKsPin: answer } = await gql(
      `mutation($input: GetSaltoKsPinInput!) { getSaltoKsPin(input: $input) {
        integration { id ${SALTO_KS} } currentPin message ${ERRORS} } }`,
      { input: { integrationId: integration.id, iqId: iqId.value.trim() || null } });
    if (answer.errors.length) {
      currentPin.value = "";
      await refused(answer.errors);
      return;
    }
    saved = answer.integration.saltoKs;
    currentPin.value = answer.currentPin;
    showStatus();
    show(result, notice(saved.iqActivated ? "ok" : "info", answer.message));
    newPin.focus();
  }));

  setButton.addEventListener("click", run(t("Setting the new pin on the IQ …"), async () => {
    const { setSaltoKsPin: answer } = await gql(
      `mutation($input: SetSaltoKsPinInput!) { setSaltoKsPin(input: $input) {
        integration { id ${SALTO_KS} } message ${ERRORS} } }`,
      { input: { integrationId: integration.id, newPin: newPin.value.trim() } });
    if (answer.errors.length) {
      await refused(answer.errors);
      return;
    }
    saved = answer.integration.saltoKs;
    currentPin.value = "";  // the IQ's pin is now the new one: the one shown is no longer current
    newPin.value = "";
    showStatus();
    show(result, notice("ok", h("strong", {}, answer.message)));
  }));

  showStatus();
  show(panel, heading, status,
    h("div", { class: "form" },
      h("ol", { class: "steps" },
        h("li", {}, fields.iqId),
        h("li", {}, h("p", { class: "field-action" }, getButton), fields.currentPin),
        h("li", {}, fields.newPin),
        h("li", {}, h("p", { class: "field-action" }, setButton))),
      h("p", { class: "hint" }, h("span", { "aria-hidden": "true" }, "* "), t("Required")),
      result));
}
