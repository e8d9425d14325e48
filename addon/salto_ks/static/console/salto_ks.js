// Salto KS's part of the admin console, in the set-up guide's words: the Authentication tab
// (Environment, Site UID, Site ID with "Resolve site ID", Username, Password, "Test / request
// access") and the IQ OTP setup (IQ id, GET PIN, current pin, new pin, Set PIN, "IQ is activated").
// The console imports this module for Salto KS integrations (addon/salto_ks/__init__.py registers
// it) and shows these tabs before its own Details, Mapping and Activate; the logs use its words for
// its audit actions and keys and for its calls.
import { authenticationTab } from "./authentication.js";
import { iqSetupTab } from "./iq_setup.js";

export const tabs = [
  { key: "authentication", label: (t) => t("Authentication"), render: authenticationTab },
  { key: "iq-otp-setup", label: (t) => t("IQ OTP setup"), render: iqSetupTab },
];

/** Words for the audit trail's keys of these tabs' settings (the guide's labels). */
export function fieldLabels(t) {
  return {
    environment: t("Environment"), site_uid: t("Site UID"), site_id: t("Site ID"), username: t("Username"),
    password: t("Password"), iq_id: t("IQ id"), iq_activated: t("IQ is activated"), pin: t("PIN"),
  };
}

/** Words for recorded values of those keys. */
export function valueLabels(t) {
  return { environment: { acceptance: t("Acceptance"), production: t("Production") } };
}

/** Words for the audit trail's actions of these tabs. */
export function actionLabels(t) {
  return {
    "salto_ks.credentials.update": t("Salto KS Authentication tab changed"),
    "salto_ks.site.resolve": t("Site ID resolved"),
    "salto_ks.iq.get_pin": t("Current pin of the IQ fetched (GET PIN)"),
    "salto_ks.iq.activate": t("IQ activated (Set PIN)"),
    "salto_ks.iq.activation_lost": t("IQ no longer activated: its PIN was changed elsewhere"),
  };
}

/** Words for the calls the call log lists. */
export function operationLabels(t) {
  return {
    token: t("Fetch an access token"), resolve_site: t("Look the site up by its Site UID"),
    list_locks: t("List the locks"), get_iq: t("Read the IQ's state"), get_pin: t("GET PIN"), set_pin: t("Set PIN"),
    open_lock: t("Open a lock"), list_entries: t("Read the locks' entries"),
  };
}
