// The Mapping tab: one row per object, sub-objects indented under their main object, each with a
// multiple selection of door names from the live door list (offline doors marked). A row shows
// whether its doors are the object's own or inherited from its parent, and any warning.
import { gql } from "./api.js";
import { h, notice, selected, show } from "./dom.js";
import { t } from "./i18n.js";

const ERRORS = "errors { field code message }";

export async function mappingTab(panel, integration) {
  const { mappableObjects, doorIntegration } = await gql(
    `query($id: ID!) { mappableObjects { id code name parent { id name } }
      doorIntegration(id: $id) { doorMappings { object { id } doorNames warnings } } }`, { id: integration.id });
  let doors = [];
  let doorsProblem = null;
  try {
    doors = (await gql("query($id: ID!) { doors(integrationId: $id) { id name online location { name } } }",
      { id: integration.id })).doors;
  } catch (error) {
    doorsProblem = error.message;
  }
  const own = new Map(doorIntegration.doorMappings.map((m) => [m.object.id, m]));
  const online = new Map(doors.map((door) => [door.name, door.online]));
  const rows = mappableObjects.map((object) => mappingRow(object, own, online, doors));
  const message = h("div", { "aria-live": "polite" });

  const save = async (event) => {
    event.preventDefault();
    const changed = rows.filter((row) => row.changed());
    if (changed.length === 0) {
      show(message, notice("info", t("Nothing changed.")));
      return;
    }
    let affected = 0;
    let failed = 0;
    for (const row of changed) {
      const { setDoorMapping: result } = await gql(
        `mutation($input: SetDoorMappingInput!) { setDoorMapping(input: $input) {
          mapping { doorNames warnings } warnings affectedBookings ${ERRORS} } }`,
        { input: { integrationId: integration.id, objectId: row.object.id, doorNames: row.value() } });
      if (result.errors.length) {
        failed += 1;
        row.setError(result.errors.map((e) => e.message).join(" "));
        continue;
      }
      affected += result.affectedBookings;
      row.saved(result.mapping ? result.mapping.doorNames : [], result.warnings);
    }
    rows.forEach((row) => row.refresh());
    const savedCount = changed.length - failed;
    show(message, notice(failed ? "error" : "ok",
      t("Saved {rows} row(s); {count} booking(s) affected.", { rows: savedCount, count: affected }),
      failed ? [" ", t("{rows} row(s) not saved: see their messages.", { rows: failed })] : null));
  };

  show(panel,
    h("h2", {}, t("Mapping")),
    h("p", {}, t("Choose the doors of each object. A sub-object without doors of its own uses its main object's.")),
    doorsProblem
      ? notice("error", t("The door list could not be loaded:"), " ", doorsProblem, " ",
        t("Check the Site ID and the connection on the Authentication tab."))
      : doors.length === 0 ? notice("info", t("No doors found. Check the Site ID and the connection.")) : null,
    h("form", { class: "form mapping", onsubmit: save },
      h("table", {},
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Object")), h("th", { scope: "col" }, t("Doors")),
          h("th", { scope: "col" }, t("Mapping")), h("th", { scope: "col" }, t("Warnings")))),
        h("tbody", {}, rows.map((row) => row.element))),
      message,
      h("button", { type: "submit" }, t("Save"))));

  function mappingRow(object, mappings, onlineByName, liveDoors) {
    let stored = mappings.get(object.id)?.doorNames || [];
    let warnings = mappings.get(object.id)?.warnings || [];
    const names = [...liveDoors.map((d) => d.name), ...stored.filter((name) => !onlineByName.has(name))];
    const select = h("select", { multiple: true, size: String(Math.min(5, Math.max(2, names.length))),
      "aria-label": t("Doors for {name}", { name: object.name }), dataset: { object: object.code } },
    names.map((name) => h("option", { value: name, selected: stored.includes(name) }, doorLabel(name, onlineByName))));
    const origin = h("td", { class: "origin" });
    const warningCell = h("td", { class: "warnings" });
    const error = h("p", { class: "field-error", role: "alert", hidden: true });
    select.addEventListener("change", () => error.hidden = true);
    const element = h("tr", { class: object.parent ? "sub-object" : "main-object" },
      h("th", { scope: "row" }, object.parent ? h("span", { class: "indent", "aria-hidden": "true" }, "↳ ") : null,
        object.name, object.parent ? h("span", { class: "visually-hidden" }, ` (${t("in {parent}", { parent: object.parent.name })})`) : null),
      h("td", {}, select, error), origin, warningCell);
    const row = {
      object, element,
      value: () => selected(select),
      changed: () => JSON.stringify([...selected(select)].sort()) !== JSON.stringify([...stored].sort()),
      setError: (text) => { error.hidden = false; error.textContent = text; },
      saved: (doorNames, newWarnings) => { stored = doorNames; warnings = newWarnings; mappings.set(object.id, { doorNames, warnings }); },
      refresh: () => {
        const parentMapping = object.parent ? mappings.get(object.parent.id) : null;
        if (stored.length) show(origin, h("span", { class: "badge badge-ok" }, t("Own")));
        else if (parentMapping && parentMapping.doorNames.length) {
          show(origin, h("span", { class: "badge" }, t("Inherited from {parent}", { parent: object.parent.name })),
            h("div", { class: "hint" }, parentMapping.doorNames.join(", ")));
        } else show(origin, h("span", { class: "badge badge-muted" }, t("Not mapped")));
        show(warningCell, warnings.length ? h("ul", {}, warnings.map((w) => h("li", {}, w))) : "");
      },
    };
    row.refresh();
    return row;
  }
}

function doorLabel(name, onlineByName) {
  if (!onlineByName.has(name)) return `${name} — ${t("unknown")}`;
  return onlineByName.get(name) ? name : `${name} — ${t("offline")}`;
}
