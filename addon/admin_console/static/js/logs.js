// Logs: the calls made to the lock vendor (per integration) and the audit trail, paged and filtered.
import { gql } from "./api.js";
import { field, h, notice, show } from "./dom.js";
import { formatTime, t } from "./i18n.js";

const PAGE = 25;

export async function logsPage(main, viewer) {
  if (viewer.role !== "ADMIN") {
    show(main, h("h1", {}, t("Logs")), notice("error", t("Only administrators can read the logs.")));
    return;
  }
  const { doorIntegrations } = await gql("{ doorIntegrations { id name } }");
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
    ["OK", "TRANSIENT", "PERMANENT"].map((o) => h("option", { value: o }, o)));
  const body = h("div");
  const load = async (page = { first: PAGE }) => {
    if (!integration.value) {
      show(body, h("p", {}, t("No integrations yet.")));
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
        h("caption", {}, t("{count} call(s)", { count: log.totalCount })),
        h("thead", {}, h("tr", {}, [t("When"), t("Operation"), t("Request"), t("HTTP"), t("Duration"), t("Outcome"),
          t("Error")].map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, rows.map((n) => h("tr", {},
          h("td", {}, formatTime(n.at)), h("td", {}, n.operation), h("td", {}, `${n.method} ${n.path}`),
          h("td", {}, n.httpStatus ?? "—"), h("td", {}, `${n.durationMs} ms`), h("td", {}, n.outcome),
          h("td", { class: "error-text" }, n.error || ""))))),
      pager(log.pageInfo, load));
  };
  integration.addEventListener("change", () => load());
  outcome.addEventListener("change", () => load());
  show(section, h("h2", { id: "calls-title" }, t("Calls to the lock vendor")),
    h("div", { class: "filters" }, field(t("Integration"), integration), field(t("Outcome"), outcome)), body);
  await load();
}

async function auditTrail(section) {
  const action = h("input", { type: "text", placeholder: "integration" });
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
    { ...page, action: action.value.trim() || null, actorName: actor.value.trim() || null,
      from: day(from.value), until: day(until.value) });
    show(body,
      h("table", {},
        h("caption", {}, t("{count} event(s)", { count: trail.totalCount })),
        h("thead", {}, h("tr", {}, [t("When"), t("Who"), t("Action"), t("Target"), t("Changes")]
          .map((label) => h("th", { scope: "col" }, label)))),
        h("tbody", {}, trail.edges.map(({ node: n }) => h("tr", {},
          h("td", {}, formatTime(n.at)), h("td", {}, `${n.actor.name} (${n.actor.kind.toLowerCase()})`),
          h("td", {}, n.action), h("td", {}, n.target ? n.target.type : ""),
          h("td", {}, h("ul", { class: "changes" }, n.changes.map((c) => h("li", {}, `${c.field}: `,
            c.secret ? t("(secret changed)") : `${JSON.stringify(c.old)} → ${JSON.stringify(c.new)}`)))))))),
      pager(trail.pageInfo, load));
  };
  const form = h("form", { class: "filters", onsubmit: (event) => { event.preventDefault(); load(); } },
    field(t("Action"), action), field(t("Who"), actor), field(t("From"), from), field(t("Until"), until),
    h("button", { type: "submit" }, t("Filter")));
  show(section, h("h2", { id: "audit-title" }, t("Audit trail")), form, body);
  await load();
}
