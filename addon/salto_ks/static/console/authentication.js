// The Authentication tab of a Salto KS integration, by the set-up guide: Environment, Site UID,
// Site ID (read-only: "Resolve site ID" looks it up from the Site UID), Username, Password
// (write-only: only whether one is stored is ever shown), and "Test / request access" (a token, the
// site, its locks and the IQ's state: the core's connection test). Resolve site ID and the test
// save the form first, so that what they use is what the admin sees.

const ERRORS = "errors { field code message }";
export const SALTO_KS = `saltoKs { environment environmentConfigured siteUid siteId siteName siteTimeZone username
  passwordSet iqId iqActivated iqStatus currentPinFetchedAt }`;

export async function authenticationTab(panel, integration, kit) {
  const { errorsByField, field, gql, h, notice, show, t, tn } = kit;
  let saved = integration.saltoKs;
  const input = (value, attributes = {}) => h("input", { type: "text", autocomplete: "off", value: value ?? "",
    ...attributes });
  const environment = h("select", {},
    saved ? null : h("option", { value: "" }, t("— choose —")),
    h("option", { value: "ACCEPTANCE", selected: saved?.environment === "ACCEPTANCE" }, t("Acceptance")),
    h("option", { value: "PRODUCTION", selected: saved?.environment === "PRODUCTION" }, t("Production")));
  const controls = {
    environment,
    siteUid: input(saved?.siteUid, { spellcheck: "false" }),
    siteId: input(saved?.siteId, { readonly: true, class: "read-only" }),
    username: input(saved?.username, { autocomplete: "username", spellcheck: "false" }),
    password: input("", { type: "password", autocomplete: "new-password" }),
  };
  const environmentHint = () => (saved && !saved.environmentConfigured
    ? t("This installation is not set up for this Environment yet: its operator configures it (the settings of the "
      + "installation), then come back here.")
    : t("Acceptance (testing) or Production (live): each has its own account, site and IQ."));
  const siteHint = () => (saved?.siteId && saved.siteName
    ? t("Site: {name} ({zone}).", { name: saved.siteName, zone: saved.siteTimeZone || "—" })
    : t("Read-only: Resolve site ID fills it from the Site UID."));
  const passwordHint = () => (saved?.passwordSet
    ? t("A password is stored (it is never shown). Leave this empty to keep it, or type a new one to replace it.")
    : t("The Salto KS account's password."));
  const fields = {
    environment: field(t("Environment"), controls.environment, { required: true, hint: environmentHint() }),
    siteUid: field(t("Site UID"), controls.siteUid, { required: true,
      hint: t("The site's code in Salto KS, e.g. NL6254340082.") }),
    siteId: field(t("Site ID"), controls.siteId, { hint: siteHint() }),
    username: field(t("Username"), controls.username, { required: true,
      hint: t("The Salto KS account: a service account with administrative rights on the site.") }),
    password: field(t("Password"), controls.password, { required: !saved?.passwordSet, hint: passwordHint() }),
  };
  const hintOf = (name) => fields[name].querySelector(".hint");
  const result = h("div", { class: "connection-result", "aria-live": "polite" });
  const buttons = [];
  const busy = (on) => buttons.forEach((button) => { button.disabled = on; });

  const remember = (settings) => {
    saved = settings;
    controls.password.value = "";
    controls.password.required = !saved?.passwordSet;
    controls.siteId.value = saved?.siteId || "";
    hintOf("environment").textContent = environmentHint();
    hintOf("siteId").textContent = siteHint();
    hintOf("password").textContent = passwordHint();
    fields.environment.classList.toggle("field-warn", Boolean(saved && !saved.environmentConfigured));
    if (environment.options[0]?.value === "") environment.options[0].remove();
  };
  const markErrors = (errors) => {
    const found = errorsByField(errors);
    for (const [name, wrapper] of Object.entries(fields)) wrapper.setError(found[name]);
    return found;
  };

  /** Save the form; true when stored (errors are shown next to their fields). */
  const save = async () => {
    const values = {
      integrationId: integration.id,
      environment: controls.environment.value || null,
      siteUid: controls.siteUid.value.trim(),
      username: controls.username.value.trim(),
    };
    if (controls.password.value) values.password = controls.password.value;
    const { setSaltoKsCredentials: answer } = await gql(
      `mutation($input: SetSaltoKsCredentialsInput!) { setSaltoKsCredentials(input: $input) {
        integration { id ${SALTO_KS} } ${ERRORS} } }`, { input: values });
    const errors = markErrors(answer.errors);
    if (answer.errors.length) {
      show(result, notice("error", t("Not saved: see the fields marked."), " ", errors[""] || ""));
      return false;
    }
    remember(answer.integration.saltoKs);
    return true;
  };

  const resolve = async () => {
    const { resolveSaltoKsSiteId: answer } = await gql(
      `mutation($input: ResolveSaltoKsSiteIdInput!) { resolveSaltoKsSiteId(input: $input) {
        integration { id ${SALTO_KS} } ${ERRORS} } }`, { input: { integrationId: integration.id } });
    markErrors(answer.errors);
    if (answer.errors.length) {
      show(result, notice("error", h("strong", {}, t("The Site ID was not resolved.")), " ",
        answer.errors.map((e) => e.message).join(" ")));
      return;
    }
    remember(answer.integration.saltoKs);
    show(result, notice("ok", t("Site ID resolved: {name} ({id}).", { name: saved.siteName, id: saved.siteId })));
  };

  const test = async () => {
    const { testDoorConnection: report } = await gql(
      `query($id: ID!) { testDoorConnection(integrationId: $id) { ok message durationMs
        locations { id name timeZone } doors { id name online } } }`, { id: integration.id });
    if (!report.ok) {
      show(result, notice("error", h("strong", {}, t("Connection failed.")), " ", report.message));
      return;
    }
    const offline = report.doors.filter((lock) => !lock.online).length;
    show(result,
      notice("ok", h("strong", {}, t("Token received: the connection works.")), " ", report.message, " ",
        t("({ms} ms)", { ms: report.durationMs })),
      h("dl", { class: "facts" },
        h("dt", {}, t("Site")), h("dd", {}, report.locations.map((site) => `${site.name} (${site.timeZone})`).join(", ")),
        h("dt", {}, t("Locks")), h("dd", {}, tn("{count} lock", "{count} locks", report.doors.length),
          offline ? [" — ", tn("{count} offline", "{count} offline", offline)] : null)),
      h("table", { class: "doors locks" },
        h("caption", { class: "visually-hidden" }, t("Locks")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Lock")), h("th", { scope: "col" }, t("Online")))),
        h("tbody", {}, report.doors.map((lock) => h("tr", {},
          h("td", {}, lock.name),
          h("td", {}, h("span", { class: lock.online ? "badge badge-ok" : "badge badge-warn" },
            lock.online ? t("online") : t("offline"))))))),
      saved && !saved.iqActivated
        ? h("p", {}, h("a", { href: `#/integrations/${encodeURIComponent(integration.id)}/iq-otp-setup` },
          t("Next: the IQ OTP setup")))
        : null);
  };

  const act = (work, waiting) => async () => {
    show(result, notice("info", waiting));
    busy(true);
    try {
      if (await save()) await work();
    } catch (error) {
      show(result, notice("error", error.message));
    } finally {
      busy(false);
    }
  };
  const saveButton = h("button", { type: "submit" }, t("Save"));
  const resolveButton = h("button", { type: "button", class: "secondary",
    onclick: act(resolve, t("Saving and resolving the Site ID …")) }, t("Resolve site ID"));
  const testButton = h("button", { type: "button",
    onclick: act(test, t("Saving and requesting access …")) }, t("Test / request access"));
  buttons.push(saveButton, resolveButton, testButton);
  fields.siteId.append(h("p", { class: "field-action" }, resolveButton));

  const form = h("form", { class: "form", onsubmit: async (event) => {
    event.preventDefault();
    await act(async () => show(result, notice("ok", t("Saved."))), t("Saving …"))();
  } },
  fields.environment, fields.siteUid, fields.siteId, fields.username, fields.password,
  h("p", { class: "hint" }, h("span", { "aria-hidden": "true" }, "* "), t("Required")),
  h("p", { class: "actions" }, saveButton, " ", testButton),
  result);
  if (saved) remember(saved);
  show(panel, h("h2", {}, t("Authentication")), form);
}
