// The door-access board: bookings with their access, filters, repair actions by role, the
// integration's health (admins; above the table), and live updates (integrationAccessChanged over
// graphql-transport-ws; polling whenever no socket is up). And one booking's detail: where its
// guest's link went (sent at, to whom, in which language, what the lock system says of it), "Send
// a new link", and the preview of what a trigger would send.
import { gql, subscribe } from "./api.js";
import { confirmDialog, field, h, notice, show, word } from "./dom.js";
import { formatTime, languageName, t, tn } from "./i18n.js";
import { previewActionWord, resolutionWord, setStatusWord, stateWord } from "./words.js";

const STATES = ["PENDING", "ACTIVE", "FAILED", "REVOKING", "REVOKED"];
const POLL_SECONDS = 5;
const ACCESS = `access { id state desired doors { name } validFrom validTo locale attempts lastError
  lastVerifiedAt nextAttemptAt warnings integration { id name } }`;
const BOOKING = `id reference start end status { code name } customer { name }
  object { id name timeZone } ${ACCESS}`;
const DELIVERIES = `access { id deliveries { setId status resolution sentAt locale observedAt
  recipients { email phoneNumber } } }`;

export function stateLabel(state) {
  return stateWord(state);
}

function stateBadge(state) {
  return h("span", { class: `badge state-${state.toLowerCase()}`, dataset: { state } }, stateLabel(state));
}

function languageWord(code) {
  return code ? word(languageName(code), code) : "";
}

/** Run a repair mutation on one booking; answers the notice to show. */
async function repair(mutation, input, done) {
  const data = await gql(`mutation($input: ${mutation.input}!) { ${mutation.name}(input: $input) {
    errors { field code message } } }`, { input });
  const errors = data[mutation.name].errors;
  return errors.length ? notice("error", errors.map((e) => e.message).join(" ")) : notice("ok", done);
}

const RESYNC = { name: "resyncBookingAccess", input: "BookingAccessInput" };
const REVOKE = { name: "revokeBookingAccess", input: "BookingAccessInput" };
const REISSUE = { name: "reissueBookingAccess", input: "ReissueBookingAccessInput" };

export async function boardPage(main, viewer) {
  const admin = viewer.role === "ADMIN";
  const [{ objects }, integrations] = await Promise.all([
    gql("{ objects { id name parent { id } } }"),
    admin ? gql("{ doorIntegrations { id name active } }").then((d) => d.doorIntegrations) : Promise.resolve([]),
  ]);
  const filters = {
    state: h("select", { id: "filter-state" }, h("option", { value: "" }, t("All")),
      STATES.map((s) => h("option", { value: s }, stateLabel(s))), h("option", { value: "NONE" }, t("No access"))),
    object: h("select", { id: "filter-object" }, h("option", { value: "" }, t("All")),
      objects.map((o) => h("option", { value: o.id }, o.parent ? `↳ ${o.name}` : o.name))),
    from: h("input", { type: "date", id: "filter-from" }),
    until: h("input", { type: "date", id: "filter-until" }),
  };
  const health = h("section", { class: "health", "aria-labelledby": "health-title" });
  const table = h("div", { class: "board-table" });
  const message = h("div", { "aria-live": "polite" });
  const live = h("p", { class: "live hint", "aria-live": "polite" });
  let after = null;
  let seenIntegrations = new Set(integrations.map((i) => i.id));

  async function refresh() {
    const variables = {
      objectId: filters.object.value || null,
      startsFrom: filters.from.value ? new Date(`${filters.from.value}T00:00:00`).toISOString() : null,
      startsUntil: filters.until.value ? new Date(`${filters.until.value}T00:00:00`).toISOString() : null,
      after,
    };
    const { bookings } = await gql(`query($objectId: ID, $startsFrom: DateTime, $startsUntil: DateTime, $after: String) {
      bookings(first: 50, objectId: $objectId, startsFrom: $startsFrom, startsUntil: $startsUntil, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { node { ${BOOKING} } } } }`, variables);
    renderTable(bookings);
    if (!admin) follow(bookings.edges.flatMap((e) => e.node.access.map((g) => g.integration.id)));
    if (admin) await renderHealth();
  }

  function rowsOf(booking) {
    const wanted = filters.state.value;
    if (booking.access.length === 0) return wanted && wanted !== "NONE" ? [] : [[booking, null]];
    return booking.access.filter((g) => !wanted || g.state === wanted).map((grant) => [booking, grant]);
  }

  function renderTable(bookings) {
    const rows = bookings.edges.flatMap((edge) => rowsOf(edge.node));
    show(table,
      h("table", { class: "board" },
        h("caption", {}, tn("{count} booking", "{count} bookings", bookings.totalCount)),
        h("thead", {}, h("tr", {}, [t("Booking"), t("Object"), t("Status"), t("Access"), t("Doors"),
          t("Window (object's time)"), t("Language"), t("Last verified"), t("Problems"), t("Actions")]
          .map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, rows.length ? rows.map(([booking, grant]) => row(booking, grant))
          : h("tr", {}, h("td", { colspan: "10", class: "empty" },
            bookings.totalCount ? t("No booking on this page has access in this state.")
              : t("No bookings match these filters."))))),
      bookings.pageInfo.hasNextPage || after
        ? h("p", {}, after ? h("button", { type: "button", onclick: () => { after = null; refresh(); } }, t("First page")) : null, " ",
          bookings.pageInfo.hasNextPage ? h("button", { type: "button", onclick: () => { after = bookings.pageInfo.endCursor; refresh(); } },
            t("Next page")) : null)
        : null);
  }

  function row(booking, grant) {
    const zone = booking.object.timeZone;
    const act = (label, mutation, done, ask = null) => h("button", { type: "button", class: "small", onclick: async () => {
      if (ask && !(await confirmDialog(ask))) return;
      show(message);
      try {
        show(message, await repair(mutation, { bookingId: booking.id }, done));
        await refresh();
      } catch (error) {
        show(message, notice("error", error.message));
      }
    }, "aria-label": `${label} ${booking.reference}` }, label);
    const actions = [
      h("a", { href: `#/access/booking/${encodeURIComponent(booking.id)}`, class: "small",
        "aria-label": t("Details of {reference}", { reference: booking.reference }) }, t("Details")),
    ];
    if (grant && ["STAFF", "ADMIN"].includes(viewer.role)) {
      const done = t("Done for {reference}.", { reference: booking.reference });
      if (grant.state === "FAILED") actions.push(act(t("Retry"), RESYNC, done));
      else actions.push(act(t("Resync"), RESYNC, done));
      if (grant.desired === "ACTIVE") {
        actions.push(act(t("Revoke"), REVOKE, t("Door access of {reference} revoked.", { reference: booking.reference }), {
          title: t("Revoke the door access of {reference}?", { reference: booking.reference }),
          body: h("p", {}, t("The guest's link stops opening doors now, whatever the booking's status, until a "
            + "resync or the booking's next trigger or revoke status.")),
          confirm: t("Revoke"), cancel: t("Cancel"), danger: true,
        }));
      }
    }
    const problems = grant ? [
      grant.attempts ? h("div", { class: "hint" }, tn("{count} attempt", "{count} attempts", grant.attempts)) : null,
      grant.lastError ? h("div", { class: "error-text" }, grant.lastError) : null,
      grant.warnings?.length ? h("ul", {}, grant.warnings.map((w) => h("li", {}, w))) : null,
    ] : null;
    return h("tr", { dataset: { reference: booking.reference } },
      h("th", { scope: "row" }, booking.reference, h("div", { class: "hint" }, booking.customer.name)),
      h("td", {}, booking.object.name),
      h("td", {}, booking.status.name),
      h("td", {}, grant ? [stateBadge(grant.state), h("div", { class: "hint" }, grant.integration.name)] : t("No access")),
      h("td", {}, grant ? grant.doors.map((d) => d.name).join(", ") : ""),
      h("td", {}, grant && grant.validFrom ? `${formatTime(grant.validFrom, zone)} – ${formatTime(grant.validTo, zone)}` : ""),
      h("td", {}, grant ? languageWord(grant.locale) : ""),
      h("td", {}, grant ? formatTime(grant.lastVerifiedAt) : ""),
      h("td", {}, problems),
      h("td", { class: "actions" }, actions));
  }

  const healthChoice = h("select", { id: "health-integration", onchange: () => renderHealth() },
    integrations.map((i) => h("option", { value: i.id }, i.name)));

  async function renderHealth() {
    if (!healthChoice.value) {
      show(health, h("h2", { id: "health-title" }, t("Health")),
        h("p", { class: "muted" }, t("No integrations yet: add one under Integrations to see its health here.")));
      return;
    }
    const { doorAccessHealth: report } = await gql(`query($id: ID!) { doorAccessHealth(integrationId: $id) {
      grantsByState { state count } dueNow oldestDueSeconds failedByReason { reason count }
      vendorLastHour { calls failed errorRate } } }`, { id: healthChoice.value });
    const retry = h("button", { type: "button", class: "small", onclick: async () => {
      const { retryFailedAccess: result } = await gql(`mutation($input: RetryFailedAccessInput!) {
        retryFailedAccess(input: $input) { requeued errors { message } } }`, { input: { integrationId: healthChoice.value } });
      show(message, result.errors.length ? notice("error", result.errors.map((e) => e.message).join(" "))
        : notice("ok", tn("{count} failed grant queued again.", "{count} failed grants queued again.", result.requeued)));
      await refresh();
    } }, t("Retry all failed"));
    const fact = (label, value) => h("div", {}, h("dt", {}, label), h("dd", {}, value));
    show(health,
      h("h2", { id: "health-title" }, t("Health")),
      h("div", { class: "health-body" },
        integrations.length > 1 ? field(t("Integration"), healthChoice) : null,
        h("dl", { class: "counts" },
          report.grantsByState.map((c) => fact(stateLabel(c.state), String(c.count))),
          fact(t("Due now"), String(report.dueNow)),
          fact(t("Oldest due"), report.oldestDueSeconds === null ? "—"
            : tn("{count} second", "{count} seconds", report.oldestDueSeconds)),
          fact(t("Lock system errors (last hour)"), tn("{failed} of {count} call", "{failed} of {count} calls",
            report.vendorLastHour.calls, { failed: report.vendorLastHour.failed }))),
        report.failedByReason.length
          ? h("div", {}, h("h3", {}, t("Failures by reason")), h("ul", {}, report.failedByReason.map((f) =>
            h("li", {}, `${f.reason || t("(no reason)")}: ${f.count}`))), retry)
          : null));
  }

  for (const control of Object.values(filters)) control.addEventListener("change", () => { after = null; refresh(); });
  show(main,
    h("h1", {}, t("Door access")),
    admin ? health : null,
    h("form", { class: "filters", role: "search", "aria-label": t("Filters"), onsubmit: (e) => e.preventDefault() },
      field(t("Access state"), filters.state), field(t("Object"), filters.object),
      field(t("Starts from"), filters.from), field(t("Starts before"), filters.until)),
    live, message, table);

  // Live updates: one subscription per integration (admins: every one; staff: those their page
  // shows access of); polling while none is up. Subscribed before the first load, so that a
  // change made meanwhile is not missed.
  let timer = null;
  let pending = null;
  const stops = new Map();
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(() => refresh().catch(() => {}), 250);
  };
  const poll = () => {
    if (timer) return;
    show(live, t("Updating every {seconds} s.", { seconds: POLL_SECONDS }));
    timer = setInterval(() => refresh().catch(() => {}), POLL_SECONDS * 1000);
  };
  function follow(ids) {
    for (const id of ids) {
      if (stops.has(id)) continue;
      seenIntegrations.add(id);
      stops.set(id, subscribe("subscription($id: ID!) { integrationAccessChanged(integrationId: $id) { grantId state } }",
        { id }, soon, poll));
    }
    if (stops.size && !timer) show(live, t("Live: changes appear as they happen."));
  }
  follow([...seenIntegrations]);
  await refresh();
  if (!stops.size) poll();
  return () => {
    stops.forEach((stop) => stop());
    clearInterval(timer);
    clearTimeout(pending);
    seenIntegrations = new Set();
  };
}

export async function bookingPage(main, id, viewer) {
  const staff = ["STAFF", "ADMIN"].includes(viewer.role);
  const { booking } = await gql(`query($id: ID!) { booking(id: $id) { ${BOOKING} } }`, { id });
  if (!booking) {
    show(main, notice("error", t("This booking does not exist (any more).")));
    return;
  }
  const deliveries = new Map();
  if (staff) {
    const { booking: found } = await gql(`query($id: ID!) { booking(id: $id) { ${DELIVERIES} } }`, { id });
    for (const grant of found?.access || []) deliveries.set(grant.id, grant.deliveries || []);
  }
  const zone = booking.object.timeZone;
  let previews = [];
  let previewProblem = null;
  if (viewer.role === "ADMIN") {
    try {
      ({ previewBookingAccess: previews } = await gql(`query($id: ID!) { previewBookingAccess(bookingId: $id) {
        integration { name } action reason doorNames locationId validFrom { utc timeZone } validTo { utc timeZone }
        locale localeReason recipients { email phoneNumber } displayName message problems warnings } }`, { id }));
    } catch (error) {
      previewProblem = error.message;
    }
  }
  const message = h("div", { class: "reissue-result", "aria-live": "polite" });
  const reload = () => bookingPage(main, id, viewer);
  show(main,
    h("p", {}, h("a", { href: "#/access" }, t("Door access"))),
    h("h1", {}, t("Booking {reference}", { reference: booking.reference })),
    h("dl", { class: "facts" },
      h("dt", {}, t("Guest")), h("dd", {}, booking.customer.name),
      h("dt", {}, t("Object")), h("dd", {}, booking.object.name),
      h("dt", {}, t("Status")), h("dd", {}, booking.status.name),
      h("dt", {}, t("Stay (object's time)")),
      h("dd", {}, `${formatTime(booking.start, zone)} – ${formatTime(booking.end, zone)} (${zone})`)),
    h("h2", {}, t("Access")),
    message,
    booking.access.length === 0
      ? h("p", { class: "muted" }, t("This booking has no door access: no active integration maps its object, or "
        + "its status gives none."))
      : booking.access.map((grant) => grantSection(booking, grant, deliveries.get(grant.id), staff, message, reload)),
    viewer.role === "ADMIN" ? h("h2", {}, t("Preview: what a trigger would send")) : null,
    previewProblem ? notice("error", previewProblem) : null,
    viewer.role === "ADMIN" && !previewProblem && previews.length === 0
      ? h("p", { class: "muted" }, t("No active integration: a trigger would send nothing.")) : null,
    previews.map((p) => h("section", { class: "preview" },
      h("h3", {}, p.integration.name),
      h("dl", { class: "facts" },
        h("dt", {}, t("Action")), h("dd", {}, word(previewActionWord(p.action), p.action), " — ", p.reason),
        h("dt", {}, t("Doors")), h("dd", {}, p.doorNames.join(", ") || "—"),
        h("dt", {}, t("Window (object's time)")),
        h("dd", {}, p.validFrom ? `${formatTime(p.validFrom.utc, p.validFrom.timeZone)} – ${formatTime(p.validTo.utc,
          p.validTo.timeZone)} (${p.validFrom.timeZone})` : "—"),
        h("dt", {}, t("Language")), h("dd", {}, languageWord(p.locale), " — ", p.localeReason),
        h("dt", {}, t("Recipients")), h("dd", {}, recipientsText(p.recipients) || "—"),
        h("dt", {}, t("Name shown")), h("dd", {}, p.displayName)),
      h("h4", {}, t("Guest's message")),
      h("pre", { class: "message" }, p.message),
      p.problems.length ? notice("error", h("ul", {}, p.problems.map((x) => h("li", {}, x)))) : null,
      p.warnings.length ? notice("info", h("ul", {}, p.warnings.map((x) => h("li", {}, x)))) : null)));
}

function recipientsText(recipients) {
  return recipients.flatMap((r) => [r.email, r.phoneNumber]).filter(Boolean).join(", ");
}

/** One grant of the booking: its state and doors, where its link went, and "Send a new link". */
function grantSection(booking, grant, deliveries, staff, message, reload) {
  const [latest, ...earlier] = deliveries || [];
  const canReissue = staff && grant.state === "ACTIVE" && grant.desired === "ACTIVE";
  const reissue = canReissue ? h("button", { type: "button", onclick: async () => {
    const to = latest ? recipientsText(latest.recipients) : "";
    const confirmed = await confirmDialog({
      title: t("Send {reference} a new link?", { reference: booking.reference }),
      body: [h("p", {}, t("The lock system makes a new link and sends it to the guest's e-mail address and phone "
        + "number as the booking has them now; then the current link stops working.")),
      to ? h("p", {}, t("The current link went to: {recipients}", { recipients: to })) : null],
      confirm: t("Send a new link"), cancel: t("Cancel"),
    });
    if (!confirmed) return;
    show(message, notice("info", t("Sending a new link …")));
    try {
      const answer = await repair(REISSUE, { bookingId: booking.id, integrationId: grant.integration.id },
        t("A new link was sent; the old link no longer opens any door."));
      await reload();
      show(document.querySelector(".reissue-result") || message, answer);
    } catch (error) {
      show(message, notice("error", error.message));
    }
  } }, t("Send a new link")) : null;
  return h("section", { class: "delivery", dataset: { integration: grant.integration.name } },
    h("h3", {}, grant.integration.name, " ", stateBadge(grant.state)),
    h("dl", { class: "facts" },
      h("dt", {}, t("Doors")), h("dd", {}, grant.doors.map((d) => d.name).join(", ") || "—"),
      h("dt", {}, t("Window (object's time)")),
      h("dd", {}, grant.validFrom ? `${formatTime(grant.validFrom, booking.object.timeZone)} – ${formatTime(grant.validTo,
        booking.object.timeZone)}` : "—"),
      h("dt", {}, t("Last verified")), h("dd", {}, formatTime(grant.lastVerifiedAt))),
    grant.lastError ? notice("error", grant.lastError) : null,
    staff ? [h("h4", {}, t("The guest's link")), latest ? deliveryFacts(latest) : h("p", { class: "muted" },
      t("No link has been sent yet."))] : null,
    earlier.length ? [h("h4", {}, t("Earlier links")), h("ul", { class: "earlier-links" }, earlier.map((d) => h("li", {},
      formatTime(d.sentAt), " — ", recipientsText(d.recipients) || "—", " — ", setWord(d))))] : null,
    reissue);
}

function setWord(delivery) {
  const status = word(setStatusWord(delivery.status), delivery.status);
  return delivery.resolution && delivery.status !== "CURRENT"
    ? [status, " (", word(resolutionWord(delivery.resolution), delivery.resolution), ")"] : status;
}

function deliveryFacts(delivery) {
  return h("dl", { class: "facts delivery-facts" },
    h("dt", {}, t("Sent at")), h("dd", {}, formatTime(delivery.sentAt)),
    h("dt", {}, t("Sent to")), h("dd", {}, recipientsText(delivery.recipients)
      || h("span", { class: "muted" }, t("Not known (sent before this was kept, or erased)"))),
    h("dt", {}, t("Language")), h("dd", {}, delivery.locale ? languageWord(delivery.locale) : "—"),
    h("dt", {}, t("At the lock system")), h("dd", { class: "set-state" }, setWord(delivery)),
    h("dt", {}, t("Last heard from the lock system")), h("dd", {}, formatTime(delivery.observedAt)));
}
