// The in-memory test lock's part of the admin console: its Authentication tab has nothing to
// enter, and shows the doors the lock lists (through the public API's connection test).

export const tabs = [
  { key: "authentication", label: (t) => t("Authentication"), render: authenticationTab },
];

async function authenticationTab(panel, integration, kit) {
  const { gql, h, notice, show, t } = kit;
  show(panel, h("h2", {}, t("Authentication")));
  const { testDoorConnection: test } = await gql(
    "query($id: ID!) { testDoorConnection(integrationId: $id) { ok message doors { name online } } }",
    { id: integration.id });
  if (!test.ok) {
    show(panel, h("h2", {}, t("Authentication")), notice("error", t("Connection failed."), " ", test.message));
    return;
  }
  show(panel, h("h2", {}, t("Authentication")),
    h("table", { class: "doors memory-doors" },
      h("caption", {}, t("Doors")),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Door")), h("th", { scope: "col" }, t("Online")))),
      h("tbody", {}, test.doors.map((door) => h("tr", {}, h("td", {}, door.name),
        h("td", {}, door.online ? t("online") : t("offline")))))));
}
