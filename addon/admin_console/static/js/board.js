// The door-access board: bookings with their access, filters, repair actions by role, the
// integration's health (admins; above the table), and live updates (integrationAccessChanged over
// graphql-transport-ws; polling whenever no socket is up). And one booking's detail: where its
// guest's link went (sent at, to whom, in which language, what the lock system says of it), "Send
// a new link", and the preview of what a trigger would send.
//
// Access that opens on request (a grant's accessModel) is shown as what it is: no set at the lock
// system, but the guest's open link (its state, how it reached the guest, the link itself for staff
// to pass on), when the booking is entitled to open, the last openings, and "Open a door" for staff.
import { gql, subscribe } from "./api.js";
import { confirmDialog, field, h, notice, show, word } from "./dom.js";
import { formatTime, languageName, t, tn } from "./i18n.js";
import {
  ON_REQUEST, actorKindWord, linkDeliveryWord, linkStateWord, openingResultWord, previewActionWord, resolutionWord,
  setStatusWord, stateWord,
} from "./words.js";

const STATES = ["PENDING", "ACTIVE", "FAILED", "REVOKING", "REVOKED"];
const POLL_SECONDS = 5;
const ACCESS = `access { id state desired accessModel doors { name } validFrom validTo locale attempts lastError
  lastVerifiedAt nextAttemptAt warnings integration { id name }
  openings { requestedAt result message } }`;
const BOOKING = `id reference start end status { code name } customer { name }
  object { id name timeZone } ${ACCESS}`;
const DELIVERIES = `access { id deliveries { setId status resolution sentAt locale observedAt
  recipients { email phoneNumber } }
  openLink { url delivery sentTo deliveryError language createdAt revokedAt }
  openings { id requestedAt requestedBy door result confirmed message checkedIn checkinError } }`;

export function stateLabel(state) {
  return stateWord(state);
}

function stateBadge(state, model = null) {
  const text = model === ON_REQUEST ? linkStateWord(state) : stateLabel(state);
  return h("span", { class: `badge state-${state.toLowerCase()}`, dataset: { state } }, text);
}

/** When a booking may open its doors (access that opens on request), in the object's time; a
 *  booking that no longer asks for access (cancelled, revoked, over) is not entitled at all. */
function entitledText(grant, zone) {
  if (grant.desired !== "ACTIVE" || !grant.validFrom) return t("Not entitled to open the doors now");
  return t("Entitled from {start} until {end}", { start: formatTime(grant.validFrom, zone),
    end: formatTime(grant.validTo, zone) });
}

function lastOpeningLine(grant) {
  const [last] = grant.openings || [];
  if (!last) return h("div", { class: "hint" }, t("Not opened yet"));
  return h("div", { class: "hint last-opening" }, t("Last opening: {time}", { time: formatTime(last.requestedAt) }), " — ",
    word(openingResultWord(last.result), last.result));
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
  // The heading is there from the start: a labelled region is never empty while the report loads.
  const health = h("section", { class: "health", "aria-labelledby": "health-title" },
    h("h2", { id: "health-title" }, t("Health")));
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
    const onRequest = grant?.accessModel === ON_REQUEST;
    const lastOpening = onRequest ? (grant.openings || [])[0] : null;
    const problems = grant ? [
      grant.attempts ? h("div", { class: "hint" }, tn("{count} attempt", "{count} attempts", grant.attempts)) : null,
      grant.lastError ? h("div", { class: "error-text" }, grant.lastError) : null,
      grant.warnings?.length ? h("ul", {}, grant.warnings.map((w) => h("li", {}, w))) : null,
      lastOpening && ["REFUSED", "FAILED"].includes(lastOpening.result) && lastOpening.message
        ? h("div", { class: "error-text" }, lastOpening.message) : null,
    ] : null;
    let window = "";
    if (grant && onRequest) window = entitledText(grant, zone);
    else if (grant && grant.validFrom) window = `${formatTime(grant.validFrom, zone)} – ${formatTime(grant.validTo, zone)}`;
    return h("tr", { dataset: { reference: booking.reference } },
      h("th", { scope: "row" }, booking.reference, h("div", { class: "hint" }, booking.customer.name)),
      h("td", {}, booking.object.name),
      h("td", {}, booking.status.name),
      h("td", {}, grant ? [stateBadge(grant.state, grant.accessModel), h("div", { class: "hint" }, grant.integration.name),
        onRequest ? lastOpeningLine(grant) : null] : t("No access")),
      h("td", {}, grant ? grant.doors.map((d) => d.name).join(", ") : ""),
      h("td", {}, window),
      h("td", {}, grant ? languageWord(grant.locale) : ""),
      h("td", {}, grant ? formatTime(grant.lastVerifiedAt) : ""),
      h("td", {}, problems),
      h("td", { class: "actions" }, actions));
  }

  const healthChoice = h("select", { id: "health-integration", onchange: () => renderHealth() },
    integrations.map((i) => h("option", { value: i.id }, i.name)));

  // Whether anyone finishes waiting door access (retries, repairs): the workers' heartbeat.
  function workersLine(workers) {
    const last = workers.lastRoundAt ? t("last round {time}", { time: formatTime(workers.lastRoundAt) }) : "";
    if (workers.alive > 0) {
      return h("dd", { class: "workers" },
        [tn("{count} alive", "{count} alive", workers.alive), last].filter(Boolean).join(", "));
    }
    return h("dd", { class: "workers workers-missing" },
      t("None at work: door access waits (PENDING) until an access worker runs."), last ? ` (${last})` : "");
  }

  async function renderHealth() {
    if (!healthChoice.value) {
      show(health, h("h2", { id: "health-title" }, t("Health")),
        h("p", { class: "muted" }, t("No integrations yet: add one under Integrations to see its health here.")));
      return;
    }
    const { doorAccessHealth: report } = await gql(`query($id: ID!) { doorAccessHealth(integrationId: $id) {
      grantsByState { state count } dueNow oldestDueSeconds failedByReason { reason count }
      vendorLastHour { calls failed errorRate } workers { alive lastRoundAt } } }`, { id: healthChoice.value });
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
            report.vendorLastHour.calls, { failed: report.vendorLastHour.failed })),
          h("div", {}, h("dt", {}, t("Access workers")), workersLine(report.workers))),
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
  const staffView = new Map();  // each grant's links, deliveries and openings (staff only)
  let fieldFacts = [];
  if (staff) {
    const { booking: found, bookingFields } = await gql(`query($id: ID!) { booking(id: $id) { fields { code value }
      ${DELIVERIES} } bookingFields(includeArchived: true) { code label } }`, { id });
    for (const grant of found?.access || []) staffView.set(grant.id, grant);
    fieldFacts = bookingFieldFacts(found?.fields || [], bookingFields);
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
      h("dd", {}, `${formatTime(booking.start, zone)} – ${formatTime(booking.end, zone)} (${zone})`),
      fieldFacts),
    h("h2", {}, t("Access")),
    message,
    booking.access.length === 0
      ? h("p", { class: "muted" }, t("This booking has no door access: no active integration maps its object, or "
        + "its status gives none."))
      : booking.access.map((grant) => (grant.accessModel === ON_REQUEST
        ? onRequestSection(booking, grant, staffView.get(grant.id), staff, message, reload)
        : grantSection(booking, grant, staffView.get(grant.id)?.deliveries, staff, message, reload))),
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

// A booking field's value as a person reads it: a time (such as when a door first opened) in the
// reader's words, anything else as it is.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function bookingFieldFacts(values, fields) {
  const labels = new Map(fields.map((f) => [f.code, f.label]));
  return values.filter((v) => v.value).map((v) => [
    h("dt", {}, word(labels.get(v.code) || v.code, v.code)),
    h("dd", { dataset: { field: v.code } }, ISO_TIME.test(v.value) ? word(formatTime(v.value), v.value) : v.value)]);
}

/** Who asked to open a door: the guest (with the open link), a person by name, or an API token. */
function requesterText(requestedBy) {
  const [kind, ...rest] = String(requestedBy || "").split(":");
  const name = rest.join(":");
  if (kind === "guest") return t("The guest, with the open link");
  if (kind === "user") return name;
  return `${name} (${actorKindWord(kind)})`;
}

/** Access that opens on request: the guest's open link, when the booking may open, the openings,
 *  "Open a door" and "Send a new link" for staff. */
function onRequestSection(booking, grant, extra, staff, message, reload) {
  const zone = booking.object.timeZone;
  const link = extra?.openLink || null;
  const openings = extra?.openings || [];
  const earlier = (extra?.deliveries || []).filter((d) => d.status !== "CURRENT");
  const live = grant.state === "ACTIVE" && grant.desired === "ACTIVE";
  const result = h("div", { class: "open-result", "aria-live": "polite" });

  const openButton = (door) => h("button", { type: "button", class: "open-door", onclick: async () => {
    const confirmed = await confirmDialog({
      title: t("Open {door} now?", { door }),
      body: [h("p", {}, t("The lock of {door} opens now, for the guest of {reference}.", { door, reference: booking.reference })),
        h("p", {}, t("Do this only for the guest in front of the door, or on the phone with them. It is recorded "
          + "under your name; a first opening checks the guest in."))],
      confirm: t("Open the door"), cancel: t("Cancel"),
    });
    if (!confirmed) return;
    show(result, notice("info", t("Opening {door} …", { door })));
    try {
      const { openDoor: answer } = await gql(`mutation($input: OpenDoorInput!) { openDoor(input: $input) {
        opened message opening { result } errors { code message } } }`,
      { input: { door, bookingId: booking.id, integrationId: grant.integration.id } });
      const text = answer.message || answer.errors.map((e) => e.message).join(" ");
      const kind = answer.opened ? "ok" : answer.errors.length || answer.opening?.result === "FAILED" ? "error" : "info";
      await reload();
      show(document.querySelector(`section.on-request[data-grant="${grant.id}"] .open-result`) || result,
        notice(kind, text));
    } catch (error) {
      show(result, notice("error", error.message));
    }
  } }, t("Open {door}", { door }));

  const reissue = staff && live ? h("button", { type: "button", class: "secondary", onclick: async () => {
    const confirmed = await confirmDialog({
      title: t("Send {reference} a new link?", { reference: booking.reference }),
      body: h("p", {}, t("A new open link is made and sent to the guest's e-mail address as the booking has it now "
        + "(or shown here to pass on); then the current link stops opening doors.")),
      confirm: t("Send a new link"), cancel: t("Cancel"),
    });
    if (!confirmed) return;
    show(message, notice("info", t("Sending a new link …")));
    try {
      const answer = await repair(REISSUE, { bookingId: booking.id, integrationId: grant.integration.id },
        t("A new open link was made; the old link no longer opens any door."));
      await reload();
      show(document.querySelector(".reissue-result") || message, answer);
    } catch (error) {
      show(message, notice("error", error.message));
    }
  } }, t("Send a new link")) : null;

  return h("section", { class: "delivery on-request", dataset: { integration: grant.integration.name, grant: grant.id } },
    h("h3", {}, grant.integration.name, " ", stateBadge(grant.state, grant.accessModel)),
    h("p", { class: "entitled" }, entitledText(grant, zone), grant.desired === "ACTIVE" && grant.validFrom
      ? ` (${zone})` : null),
    h("dl", { class: "facts" },
      h("dt", {}, t("Doors")), h("dd", {}, grant.doors.map((d) => d.name).join(", ") || "—"),
      h("dt", {}, t("Last verified")), h("dd", {}, formatTime(grant.lastVerifiedAt))),
    grant.lastError ? notice("error", grant.lastError) : null,
    staff ? [h("h4", {}, t("The guest's open link")), link ? openLinkFacts(link) : h("p", { class: "muted no-link" },
      earlier.length ? t("No live open link: the earlier ones are listed below, with what became of them.")
        : t("No open link has been made yet."))] : null,
    earlier.length ? [h("h4", {}, t("Earlier links")), h("ul", { class: "earlier-links" }, earlier.map((d) => h("li", {},
      formatTime(d.sentAt), " — ", recipientsText(d.recipients) || "—", " — ", setWord(d))))] : null,
    reissue,
    staff && live && grant.doors.length ? [h("h4", {}, t("Open a door")),
      h("p", { class: "hint" }, t("For a guest who cannot open it with the link: the lock opens at once.")),
      h("p", { class: "open-doors" }, grant.doors.map((d) => [openButton(d.name), " "]))] : null,
    result,
    staff ? [h("h4", {}, t("Last openings")), openingsTable(openings)] : null);
}

function openLinkFacts(link) {
  const url = h("input", { type: "text", readonly: true, value: link.url, class: "open-link-url", "aria-label":
    t("The guest's open link") });
  const copy = h("button", { type: "button", class: "small secondary", onclick: async () => {
    url.select();
    try {
      await navigator.clipboard.writeText(link.url);
      copy.textContent = t("Copied");
    } catch {
      copy.textContent = t("Selected: copy it with Ctrl+C");
    }
  } }, t("Copy the link"));
  return [
    link.revokedAt ? null : h("p", { class: "open-link" }, url, " ", copy),
    h("dl", { class: "facts open-link-facts" },
      h("dt", {}, t("Delivery")), h("dd", { class: "link-delivery" }, word(linkDeliveryWord(link.delivery), link.delivery),
        link.delivery === "EMAILED" && link.sentTo.length ? [" — ", link.sentTo.join(", ")] : null),
      link.deliveryError ? [h("dt", {}, t("Why sending failed")), h("dd", { class: "error-text" }, link.deliveryError)] : null,
      h("dt", {}, t("Language")), h("dd", {}, link.language ? languageWord(link.language) : "—"),
      h("dt", {}, t("Made at")), h("dd", {}, formatTime(link.createdAt)),
      link.revokedAt ? [h("dt", {}, t("Revoked at")), h("dd", { class: "error-text" },
        t("{time}: this link no longer opens any door.", { time: formatTime(link.revokedAt) }))] : null),
  ];
}

function openingsTable(openings) {
  if (!openings.length) return h("p", { class: "muted openings-empty" }, t("No door has been opened yet."));
  return h("table", { class: "openings" },
    h("caption", { class: "visually-hidden" }, t("Last openings")),
    h("thead", {}, h("tr", {}, [t("When"), t("Door"), t("Asked by"), t("Result"), t("Check-in"), t("Why")]
      .map((label) => h("th", { scope: "col" }, label)))),
    h("tbody", {}, openings.map((o) => h("tr", { dataset: { result: o.result } },
      h("td", {}, formatTime(o.requestedAt)),
      h("td", {}, o.door),
      h("td", {}, requesterText(o.requestedBy)),
      h("td", { class: "opening-result" }, word(openingResultWord(o.result), o.result)),
      h("td", { class: "opening-checkin" }, o.checkedIn ? h("span", { class: "badge badge-ok" }, t("Checked in"))
        : o.checkinError ? h("span", { class: "error-text" }, o.checkinError) : "—"),
      h("td", { class: o.result === "CONFIRMED" ? "" : "error-text" }, o.result === "CONFIRMED" ? "" : o.message || "")))));
}
