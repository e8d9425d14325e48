// The door-access board: bookings with their access, filters, repair actions by role, the
// integration's health, and live updates (integrationAccessChanged over graphql-transport-ws for
// admins; polling otherwise and whenever the socket is down). And one booking's detail with the
// preview of what would be sent.
import { gql, subscribe } from "./api.js";
import { field, h, notice, show } from "./dom.js";
import { formatTime, t } from "./i18n.js";

const STATES = ["PENDING", "ACTIVE", "FAILED", "REVOKING", "REVOKED"];
const POLL_SECONDS = 5;
const ACCESS = `access { id state desired doors { name } validFrom validTo locale attempts lastError
  lastVerifiedAt nextAttemptAt warnings integration { id name } }`;
const BOOKING = `id reference start end status { code name } customer { name }
  object { id name timeZone } ${ACCESS}`;

export function stateLabel(state) {
  return {
    PENDING: t("Pending"), ACTIVE: t("Active"), FAILED: t("Failed"), REVOKING: t("Revoking"), REVOKED: t("Revoked"),
  }[state] || state;
}

function stateBadge(state) {
  return h("span", { class: `badge state-${state.toLowerCase()}`, dataset: { state } }, stateLabel(state));
}

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
        h("caption", {}, t("{count} booking(s)", { count: bookings.totalCount })),
        h("thead", {}, h("tr", {}, [t("Booking"), t("Object"), t("Status"), t("Access"), t("Doors"),
          t("Window (object's time)"), t("Language"), t("Attempts"), t("Last verified"), t("Last error"),
          t("Warnings"), t("Actions")].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, rows.length ? rows.map(([booking, grant]) => row(booking, grant))
          : h("tr", {}, h("td", { colspan: "12" }, t("No bookings match."))))),
      bookings.pageInfo.hasNextPage || after
        ? h("p", {}, after ? h("button", { type: "button", onclick: () => { after = null; refresh(); } }, t("First page")) : null, " ",
          bookings.pageInfo.hasNextPage ? h("button", { type: "button", onclick: () => { after = bookings.pageInfo.endCursor; refresh(); } },
            t("Next page")) : null)
        : null);
  }

  function row(booking, grant) {
    const zone = booking.object.timeZone;
    const act = (label, mutation) => h("button", { type: "button", class: "small", onclick: async () => {
      show(message);
      try {
        const data = await gql(`mutation($input: BookingAccessInput!) { ${mutation}(input: $input) {
          errors { field code message } } }`, { input: { bookingId: booking.id } });
        const errors = data[mutation].errors;
        show(message, errors.length ? notice("error", errors.map((e) => e.message).join(" "))
          : notice("ok", t("{action}: done for {reference}.", { action: label, reference: booking.reference })));
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
      if (grant.state === "FAILED") actions.push(act(t("Retry"), "resyncBookingAccess"));
      else actions.push(act(t("Resync"), "resyncBookingAccess"));
      if (grant.desired === "ACTIVE") actions.push(act(t("Revoke"), "revokeBookingAccess"));
    }
    return h("tr", { dataset: { reference: booking.reference } },
      h("th", { scope: "row" }, booking.reference, h("div", { class: "hint" }, booking.customer.name)),
      h("td", {}, booking.object.name),
      h("td", {}, booking.status.name),
      h("td", {}, grant ? [stateBadge(grant.state), h("div", { class: "hint" }, grant.integration.name)] : t("No access")),
      h("td", {}, grant ? grant.doors.map((d) => d.name).join(", ") : ""),
      h("td", {}, grant && grant.validFrom ? `${formatTime(grant.validFrom, zone)} – ${formatTime(grant.validTo, zone)}` : ""),
      h("td", {}, grant?.locale || ""),
      h("td", {}, grant ? String(grant.attempts) : ""),
      h("td", {}, grant ? formatTime(grant.lastVerifiedAt) : ""),
      h("td", { class: "error-text" }, grant?.lastError || ""),
      h("td", {}, grant?.warnings?.length ? h("ul", {}, grant.warnings.map((w) => h("li", {}, w))) : ""),
      h("td", { class: "actions" }, actions));
  }

  const healthChoice = h("select", { id: "health-integration", onchange: () => renderHealth() },
    integrations.map((i) => h("option", { value: i.id }, i.name)));

  // Whether anyone finishes waiting door access (retries, repairs): the workers' heartbeat.
  function workersLine(workers) {
    const last = workers.lastRoundAt ? t("last round {time}", { time: formatTime(workers.lastRoundAt) }) : "";
    if (workers.alive > 0) {
      return h("dd", { class: "workers" }, [t("{count} alive", { count: workers.alive }), last].filter(Boolean).join(", "));
    }
    return h("dd", { class: "workers workers-missing" },
      t("None at work: door access waits (PENDING) until an access worker runs."), last ? ` (${last})` : "");
  }

  async function renderHealth() {
    if (!healthChoice.value) {
      show(health);
      return;
    }
    const { doorAccessHealth: report } = await gql(`query($id: ID!) { doorAccessHealth(integrationId: $id) {
      grantsByState { state count } dueNow oldestDueSeconds failedByReason { reason count }
      vendorLastHour { calls failed errorRate } workers { alive lastRoundAt } } }`,
    { id: healthChoice.value });
    const retry = h("button", { type: "button", onclick: async () => {
      const { retryFailedAccess: result } = await gql(`mutation($input: RetryFailedAccessInput!) {
        retryFailedAccess(input: $input) { requeued errors { message } } }`, { input: { integrationId: healthChoice.value } });
      show(message, result.errors.length ? notice("error", result.errors.map((e) => e.message).join(" "))
        : notice("ok", t("{count} failed grant(s) queued again.", { count: result.requeued })));
      await refresh();
    } }, t("Retry all failed"));
    show(health,
      h("h2", { id: "health-title" }, t("Health")),
      field(t("Integration"), healthChoice),
      h("dl", { class: "counts" },
        report.grantsByState.flatMap((c) => [h("dt", {}, stateLabel(c.state)), h("dd", {}, String(c.count))]),
        h("dt", {}, t("Due now")), h("dd", {}, String(report.dueNow)),
        h("dt", {}, t("Oldest due")), h("dd", {}, report.oldestDueSeconds === null ? "—"
          : t("{seconds} s", { seconds: report.oldestDueSeconds })),
        h("dt", {}, t("Lock vendor errors (last hour)")),
        h("dd", {}, t("{failed} of {calls} call(s)", { failed: report.vendorLastHour.failed, calls: report.vendorLastHour.calls })),
        h("dt", {}, t("Access workers")), workersLine(report.workers)),
      report.failedByReason.length
        ? [h("h3", {}, t("Failures by reason")), h("ul", {}, report.failedByReason.map((f) =>
          h("li", {}, `${f.reason || t("(no reason)")}: ${f.count}`))), retry]
        : null);
  }

  for (const control of Object.values(filters)) control.addEventListener("change", () => { after = null; refresh(); });
  show(main,
    h("h1", {}, t("Door access")),
    h("form", { class: "filters", role: "search", "aria-label": t("Filters"), onsubmit: (e) => e.preventDefault() },
      field(t("Access state"), filters.state), field(t("Object"), filters.object),
      field(t("Starts from"), filters.from), field(t("Starts before"), filters.until)),
    live, message,
    h("div", { class: admin ? "board-layout" : "" }, table, admin ? health : null));
  // Live updates: one subscription per integration (admins); polling while none is up. Subscribed
  // before the first load, so that a change made meanwhile is not missed.
  let timer = null;
  let pending = null;
  const soon = () => {
    clearTimeout(pending);
    pending = setTimeout(() => refresh().catch(() => {}), 250);
  };
  const poll = () => {
    if (timer) return;
    show(live, t("Updating every {seconds} s.", { seconds: POLL_SECONDS }));
    timer = setInterval(() => refresh().catch(() => {}), POLL_SECONDS * 1000);
  };
  const stops = integrations.map((integration) => subscribe(
    "subscription($id: ID!) { integrationAccessChanged(integrationId: $id) { grantId state } }",
    { id: integration.id }, soon, poll));
  if (stops.length) show(live, t("Live: changes appear as they happen."));
  else poll();
  await refresh();
  return () => {
    stops.forEach((stop) => stop());
    clearInterval(timer);
    clearTimeout(pending);
  };
}

export async function bookingPage(main, id, viewer) {
  const { booking } = await gql(`query($id: ID!) { booking(id: $id) { ${BOOKING} } }`, { id });
  if (!booking) {
    show(main, notice("error", t("This booking does not exist (any more).")));
    return;
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
    booking.access.length === 0 ? h("p", {}, t("No access")) : h("ul", {}, booking.access.map((grant) => h("li", {},
      stateBadge(grant.state), " ", grant.integration.name, ": ", grant.doors.map((d) => d.name).join(", "),
      grant.lastError ? h("div", { class: "error-text" }, grant.lastError) : null))),
    viewer.role === "ADMIN" ? h("h2", {}, t("Preview: what a trigger would send")) : null,
    previewProblem ? notice("error", previewProblem) : null,
    previews.map((p) => h("section", { class: "preview" },
      h("h3", {}, p.integration.name),
      h("dl", { class: "facts" },
        h("dt", {}, t("Action")), h("dd", {}, `${p.action} — ${p.reason}`),
        h("dt", {}, t("Doors")), h("dd", {}, p.doorNames.join(", ") || "—"),
        h("dt", {}, t("Window (object's time)")),
        h("dd", {}, p.validFrom ? `${formatTime(p.validFrom.utc, p.validFrom.timeZone)} – ${formatTime(p.validTo.utc,
          p.validTo.timeZone)} (${p.validFrom.timeZone})` : "—"),
        h("dt", {}, t("Language")), h("dd", {}, `${p.locale} — ${p.localeReason}`),
        h("dt", {}, t("Recipients")), h("dd", {}, p.recipients.map((r) => r.email || r.phoneNumber).join(", ") || "—"),
        h("dt", {}, t("Name shown")), h("dd", {}, p.displayName)),
      h("h4", {}, t("Guest's message")),
      h("pre", { class: "message" }, p.message),
      p.problems.length ? notice("error", h("ul", {}, p.problems.map((x) => h("li", {}, x)))) : null,
      p.warnings.length ? notice("info", h("ul", {}, p.warnings.map((x) => h("li", {}, x)))) : null)));
}
