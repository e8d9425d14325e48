// Logs: the calls made to the lock vendor (per integration) and the audit trail, paged and filtered.
// Codes (outcomes, actions, field keys, targets) are shown as words, each with its code as a tooltip.
import { gql } from "./api.js";
import { field, h, notice, show, word } from "./dom.js";
import { formatTime, t, tn } from "./i18n.js";
import { partLabels } from "./parts.js";
import {
  actorKindWord, addActionLabels, addFieldLabels, addValueLabels, auditActionWord, fieldWord, outcomeWord, roleWord,
  targetWord, valueWord,
} from "./words.js";

// The actions the audit trail is filtered by, by their words (the API filters by code).
const ACTIONS = ["access.reissue", "access.resync", "access.revoke", "access.retry_failed", "access.bulk_resync",
  "access.verify_repair", "integration.create", "integration.update", "integration.activate",
  "integration.deactivate", "integration.archive", "integration.restore", "credentials.update", "mapping.set",
  "mapping.remove", "door.open", "door.open_refused", "booking.checkin_refused", "customer.erase", "signin.success",
  "signin.failure", "signin.locked", "signout", "user.create", "user.enable", "user.disable", "user.password",
  "token.create", "token.revoke"];

const PAGE = 25;
let operations = {};  // the backends' words for their calls
let backends = new Map();  // each backend's name → its label
let partActions = [];  // the backends' own audit actions

export async function logsPage(main, viewer) {
  if (viewer.role !== "ADMIN") {
    show(main, h("h1", {}, t("Logs")), notice("error", t("Only administrators can read the logs.")));
    return;
  }
  const [{ doorIntegrations, doorBackends }, labels] = await Promise.all([
    gql("{ doorIntegrations { id name } doorBackends { name label } }"), partLabels(t)]);
  backends = new Map(doorBackends.map((b) => [b.name, b.label]));
  addFieldLabels(labels.fields);
  addValueLabels(labels.values);
  addActionLabels(labels.actions);
  partActions = Object.keys(labels.actions);
  operations = labels.operations;
  const calls = h("section", { "aria-labelledby": "calls-title" });
  const audit = h("section", { "aria-labelledby": "audit-title" });
  show(main, h("h1", {}, t("Logs")), calls, audit);
  await callLog(calls, doorIntegrations);
  await auditTrail(audit);
}

function pager(pageInfo, go) {
  return h("p", { class: "pager" },
    pageInfo.hasPreviousPage ? h("button", { type: "button", onclick: () => go({ last: PAGE, before: pageInfo.startCursor }) },
      t("Previous page")) : null, " ",
    pageInfo.hasNextPage ? h("button", { type: "button", onclick: () => go({ first: PAGE, after: pageInfo.endCursor }) },
      t("Next page")) : null);
}

async function callLog(section, integrations) {
  const integration = h("select", {}, integrations.map((i) => h("option", { value: i.id }, i.name)));
  const outcome = h("select", {}, h("option", { value: "" }, t("All")),
    ["OK", "TRANSIENT", "PERMANENT"].map((o) => h("option", { value: o }, outcomeWord(o))));
  const body = h("div");
  const load = async (page = { first: PAGE }) => {
    if (!integration.value) {
      show(body, h("p", { class: "muted" }, t("No integrations yet: calls to a lock system appear here once one is added.")));
      return;
    }
    const { integrationLog: log } = await gql(`query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) {
      integrationLog(integrationId: $id, first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { node { at operation method path httpStatus durationMs outcome error } } } }`,
    { id: integration.value, ...page });
    const rows = log.edges.map((e) => e.node).filter((n) => !outcome.value || n.outcome === outcome.value);
    show(body,
      h("table", {},
        h("caption", {}, tn("{count} call", "{count} calls", log.totalCount)),
        h("thead", {}, h("tr", {}, [t("When"), t("Operation"), t("Request"), t("HTTP"), t("Duration"), t("Outcome"),
          t("Error")].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, rows.map((n) => h("tr", {},
          h("td", {}, formatTime(n.at)), h("td", {}, operations[n.operation] ? word(operations[n.operation], n.operation) : n.operation), h("td", {}, `${n.method} ${n.path}`),
          h("td", {}, n.httpStatus ?? "—"), h("td", {}, `${n.durationMs} ms`),
          h("td", {}, word(outcomeWord(n.outcome), n.outcome)),
          h("td", { class: "error-text" }, n.error || ""))),
        rows.length ? null : h("tr", {}, h("td", { colspan: "7", class: "muted" }, log.totalCount
          ? t("No call on this page has this outcome.") : t("No calls to the lock system yet."))))),
      pager(log.pageInfo, load));
  };
  integration.addEventListener("change", () => load());
  outcome.addEventListener("change", () => load());
  show(section, h("h2", { id: "calls-title" }, t("Calls to the lock vendor")),
    h("div", { class: "filters" }, field(t("Integration"), integration), field(t("Outcome"), outcome)), body);
  await load();
}

async function auditTrail(section) {
  const action = h("select", {}, h("option", { value: "" }, t("All")),
    [...ACTIONS, ...partActions].map((code) => [code, auditActionWord(code)]).sort((a, b) => a[1].localeCompare(b[1]))
      .map(([code, label]) => h("option", { value: code }, label)));
  const actor = h("input", { type: "text" });
  const from = h("input", { type: "date" });
  const until = h("input", { type: "date" });
  const body = h("div");
  const day = (value) => (value ? new Date(`${value}T00:00:00`).toISOString() : null);
  const load = async (page = { first: PAGE }) => {
    const { auditTrail: trail } = await gql(`query($first: Int, $after: String, $last: Int, $before: String,
      $action: String, $actorName: String, $from: DateTime, $until: DateTime) {
      auditTrail(first: $first, after: $after, last: $last, before: $before, action: $action, actorName: $actorName,
        from: $from, until: $until) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
        edges { node { at action actor { kind name } target { type id } changes { field old new secret } } } } }`,
    { ...page, action: action.value || null, actorName: actor.value.trim() || null,
      from: day(from.value), until: day(until.value) });
    show(body,
      h("table", {},
        h("caption", {}, tn("{count} event", "{count} events", trail.totalCount)),
        h("thead", {}, h("tr", {}, [t("When"), t("Who"), t("Action"), t("Target"), t("Changes")]
          .map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, trail.edges.map(({ node: n }) => h("tr", {},
          h("td", {}, formatTime(n.at)),
          h("td", {}, n.actor.name, " (", word(actorKindWord(n.actor.kind.toLowerCase()), n.actor.kind), ")"),
          h("td", {}, word(auditActionWord(n.action), n.action)),
          h("td", {}, n.target ? word(targetWord(n.target.type), n.target.type) : ""),
          h("td", {}, h("ul", { class: "changes" }, n.changes.map((c) => h("li", {}, word(fieldWord(c.field), c.field), ": ",
            c.secret ? t("(secret changed)") : [value(c.old, c.field), " → ", value(c.new, c.field)])))))),
        trail.edges.length ? null : h("tr", {}, h("td", { colspan: "5", class: "muted" }, t("No events match."))))),
      pager(trail.pageInfo, load));
  };
  const form = h("form", { class: "filters", onsubmit: (event) => { event.preventDefault(); load(); } },
    field(t("Action"), action), field(t("Who"), actor), field(t("From"), from), field(t("Until"), until),
    h("button", { type: "submit" }, t("Filter")));
  show(section, h("h2", { id: "audit-title" }, t("Audit trail")), form, body);
  await load();
}

/** A recorded value as a person reads it: text as it is, lists joined, nothing as a dash; a role
 *  or a backend by its word (the code in a tooltip). */
function value(recorded, key = null) {
  if (recorded === null || recorded === undefined) return "—";
  if (key === "role" && typeof recorded === "string") return word(roleWord(recorded), recorded);
  if (key === "backend" && backends.has(recorded)) return word(backends.get(recorded), recorded);
  const named = valueWord(key, recorded);
  if (named) return word(named, recorded);
  if (Array.isArray(recorded)) return recorded.length ? recorded.map((item) => value(item)).join(", ") : "—";
  if (typeof recorded === "boolean") return recorded ? t("yes") : t("no");
  if (typeof recorded === "object") return JSON.stringify(recorded);
  return String(recorded);
}
