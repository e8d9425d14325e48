// The Mapping tab: one row per object, sub-objects indented under their main object. Each row shows
// its chosen doors as chips (each removable) and opens a door picker: a search box and one
// checkbox per door of the live door list (offline doors and names no longer listed marked), so a
// stray click or arrow key never replaces a row's doors. Rows changed and not saved are marked, and
// leaving the page asks first. Saving shows, per row, what changes and how many bookings follow
// (doorMappingChangePreview) before anything is stored.
import { gql } from "./api.js";
import { confirmDialog, h, notice, show, uid } from "./dom.js";
import { guardChanges } from "./guard.js";
import { t, tn } from "./i18n.js";

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
  const stored = new Map(doorIntegration.doorMappings.map((m) => [m.object.id, m]));
  const heading = [h("h2", {}, t("Mapping")),
    h("p", {}, t("Choose the doors of each object. A sub-object without doors of its own uses its main object's."))];

  if (doorsProblem || doors.length === 0) {
    show(panel, heading, emptyState(integration, doorsProblem), currentMapping(mappableObjects, stored));
    return;
  }

  const known = [...doors].sort((a, b) => a.name.localeCompare(b.name));
  const places = new Set(known.map((d) => d.location?.name).filter(Boolean));
  const rows = new Map();
  const message = h("div", { class: "save-result", "aria-live": "polite" });
  const pending = h("p", { class: "unsaved-count", "aria-live": "polite" });
  const saveButton = h("button", { type: "submit" }, t("Review and save"));
  const changedRows = () => [...rows.values()].filter((row) => row.changed());
  const update = () => {
    const count = changedRows().length;
    show(pending, count ? tn("{count} object has changes that are not saved.",
      "{count} objects have changes that are not saved.", count) : "");
    rows.forEach((row) => row.refresh());
  };
  for (const object of mappableObjects) {
    rows.set(object.id, doorRow(object, stored.get(object.id), known, places.size > 1, rows, update));
  }
  guardChanges(() => changedRows().length > 0);

  const save = async (event) => {
    event.preventDefault();
    rows.forEach((row) => row.close());
    const changed = changedRows();
    if (changed.length === 0) {
      show(message, notice("info", t("Nothing changed.")));
      return;
    }
    show(message);
    saveButton.disabled = true;
    try {
      const previews = await Promise.all(changed.map((row) => preview(integration, row)));
      const confirmed = await confirmDialog({
        title: t("Save these changes?"),
        body: [h("ul", { class: "change-summary" }, previews.map((p) => h("li", {}, summaryLine(p)))),
          h("p", { class: "hint" }, t("Bookings affected get new door links (the new one first, then the old one "
            + "revoked), lose their access, or get access, as the new mapping says."))],
        confirm: t("Save"), cancel: t("Keep editing"),
      });
      if (!confirmed) return;
      const saved = [];
      const failed = [];
      for (const p of previews) {
        const { setDoorMapping: result } = await gql(
          `mutation($input: SetDoorMappingInput!) { setDoorMapping(input: $input) {
            mapping { doorNames warnings } warnings affectedBookings ${ERRORS} } }`,
          { input: { integrationId: integration.id, objectId: p.row.object.id, doorNames: p.row.value() } });
        if (result.errors.length) {
          failed.push(p.row);
          p.row.setError(result.errors.map((e) => e.message).join(" "));
          continue;
        }
        p.row.saved(result.mapping ? result.mapping.doorNames : [], result.warnings);
        saved.push({ ...p, affected: result.affectedBookings });
      }
      update();
      show(message,
        saved.length ? notice("ok", h("strong", {}, tn("Saved {count} object.", "Saved {count} objects.", saved.length)),
          h("ul", { class: "change-summary" }, saved.map((p) => h("li", {}, summaryLine(p))))) : null,
        failed.length ? notice("error", tn("{count} object was not saved: see its message.",
          "{count} objects were not saved: see their messages.", failed.length)) : null);
    } catch (error) {
      show(message, notice("error", error.message));
    } finally {
      saveButton.disabled = false;
    }
  };

  const body = h("tbody", {}, [...rows.values()].map((row) => row.element));
  show(panel, heading,
    h("form", { class: "form mapping", onsubmit: save },
      h("table", {},
        h("caption", { class: "visually-hidden" }, t("Doors of each object")),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Object")), h("th", { scope: "col" }, t("Doors")),
          h("th", { scope: "col" }, t("Mapping")), h("th", { scope: "col" }, t("Warnings")))),
        body),
      h("div", { class: "save-bar" }, saveButton, pending),
      message));
  update();
  return () => guardChanges(null);
}

async function preview(integration, row) {
  const { doorMappingChangePreview: change } = await gql(
    `query($integrationId: ID!, $objectId: ID!, $doorNames: [String!]!) {
      doorMappingChangePreview(integrationId: $integrationId, objectId: $objectId, doorNames: $doorNames) {
        added removed affectedBookings } }`,
    { integrationId: integration.id, objectId: row.object.id, doorNames: row.value() });
  return { row, added: change.added, removed: change.removed, affected: change.affectedBookings };
}

/** "Studio 1: + Side door, − Main door; 3 bookings affected" */
function summaryLine({ row, added, removed, affected }) {
  const changes = [...added.map((name) => `+ ${name}`), ...removed.map((name) => `− ${name}`)];
  return [h("strong", {}, row.object.name), ": ", changes.join(", ") || t("no doors of its own"), "; ",
    tn("{count} booking affected", "{count} bookings affected", affected)];
}

function emptyState(integration, problem) {
  const authentication = `#/integrations/${encodeURIComponent(integration.id)}/authentication`;
  return h("div", { class: "empty-state", role: problem ? "alert" : "status" },
    h("h3", {}, problem ? t("The door list could not be loaded") : t("No doors found")),
    problem ? h("p", {}, problem) : null,
    h("p", {}, problem
      ? t("Check the Site ID and the connection on the Authentication tab.")
      : t("The lock system lists no doors for these settings. Check the Site ID and the connection.")),
    h("p", {}, t("Doors can be chosen here once the door list loads.")),
    h("p", {}, h("a", { class: "button", href: authentication }, t("Open the Authentication tab"))));
}

/** The stored mapping as text, when no door can be chosen: no empty boxes that look like fields. */
function currentMapping(objects, stored) {
  if (!objects.length) return h("p", {}, t("There are no objects to map yet."));
  return h("table", { class: "mapping-readonly" },
    h("caption", {}, t("The mapping as it is stored")),
    h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("Object")), h("th", { scope: "col" }, t("Doors")))),
    h("tbody", {}, objects.map((object) => h("tr", { class: object.parent ? "sub-object" : "main-object" },
      h("th", { scope: "row" }, object.parent ? h("span", { class: "indent", "aria-hidden": "true" }, "↳ ") : null,
        object.name),
      h("td", {}, stored.get(object.id)?.doorNames.join(", ") || h("span", { class: "muted" }, t("Not mapped")))))));
}

function doorRow(object, mapping, known, showPlaces, rows, changed) {
  let saved = mapping?.doorNames || [];
  let warnings = mapping?.warnings || [];
  let chosen = [...saved];
  const listed = new Set(known.map((d) => d.name));
  const options = [...known.map((d) => ({ name: d.name, online: d.online, place: d.location?.name, listed: true })),
    ...saved.filter((name) => !listed.has(name)).map((name) => ({ name, online: null, place: null, listed: false }))];

  const panelId = uid("doors");
  const chips = h("ul", { class: "chips", "aria-label": t("Chosen doors for {name}", { name: object.name }) });
  const none = h("p", { class: "no-doors" });
  const unsaved = h("span", { class: "badge badge-changed", hidden: true }, t("Not saved"));
  const error = h("p", { class: "field-error", role: "alert", hidden: true });
  const toggle = h("button", { type: "button", class: "small secondary", "aria-expanded": "false",
    "aria-controls": panelId, onclick: () => (panel.hidden ? open() : close(true)) },
  t("Choose doors"), h("span", { class: "visually-hidden" }, ` ${t("for {name}", { name: object.name })}`));
  const search = h("input", { type: "search", id: uid("search"), autocomplete: "off",
    placeholder: t("Type part of a door's name") });
  const shown = h("p", { class: "hint", "aria-live": "polite" });
  const boxes = options.map((option) => {
    const id = uid("door");
    const box = h("input", { type: "checkbox", id, value: option.name, checked: chosen.includes(option.name),
      onchange: () => {
        chosen = box.checked ? [...chosen, option.name] : chosen.filter((name) => name !== option.name);
        error.hidden = true;
        changed();
      } });
    const item = h("li", {}, box, h("label", { for: id }, option.name,
      option.listed && !option.online ? [" ", h("span", { class: "badge badge-warn" }, t("offline"))] : null,
      !option.listed ? [" ", h("span", { class: "badge badge-warn" }, t("not in the door list"))] : null,
      showPlaces && option.place ? h("span", { class: "hint" }, ` — ${option.place}`) : null));
    return { option, box, item };
  });
  const filter = () => {
    const needle = search.value.trim().toLocaleLowerCase();
    let count = 0;
    for (const { option, item } of boxes) {
      item.hidden = Boolean(needle) && !`${option.name} ${option.place || ""}`.toLocaleLowerCase().includes(needle);
      if (!item.hidden) count += 1;
    }
    show(shown, count === boxes.length ? tn("{count} door", "{count} doors", count)
      : t("{shown} of {total} doors shown", { shown: count, total: boxes.length }));
  };
  search.addEventListener("input", filter);
  const legend = t("Doors for {name}", { name: object.name });
  const panel = h("div", { id: panelId, class: "door-panel", hidden: true, onkeydown: (event) => {
    if (event.key === "Escape") {
      event.preventDefault();
      close(true);
    }
  } },
  h("label", { for: search.id }, t("Search doors for {name}", { name: object.name })), search, shown,
  h("fieldset", {}, h("legend", { class: "visually-hidden" }, legend),
    h("ul", { class: "door-options" }, boxes.map((b) => b.item))),
  h("button", { type: "button", class: "small", onclick: () => close(true) }, t("Done")));

  function open() {
    rows.forEach((row) => row !== self && row.close());
    panel.hidden = false;
    toggle.setAttribute("aria-expanded", "true");
    filter();
    search.focus();
  }

  function close(refocus = false) {
    if (panel.hidden) return;
    panel.hidden = true;
    toggle.setAttribute("aria-expanded", "false");
    if (refocus) toggle.focus();
  }

  function remove(name) {
    chosen = chosen.filter((n) => n !== name);
    const box = boxes.find((b) => b.option.name === name);
    if (box) box.box.checked = false;
    changed();
    (chips.querySelector("button") || toggle).focus();
  }

  const origin = h("td", { class: "origin" });
  const warningCell = h("td", { class: "warnings" });
  const element = h("tr", { class: object.parent ? "sub-object" : "main-object", dataset: { object: object.code } },
    h("th", { scope: "row" }, object.parent ? h("span", { class: "indent", "aria-hidden": "true" }, "↳ ") : null,
      object.name, object.parent ? h("span", { class: "visually-hidden" }, ` (${t("in {parent}", { parent: object.parent.name })})`) : null),
    h("td", { class: "doors-cell" }, chips, none, h("div", { class: "row-tools" }, toggle, unsaved), panel, error),
    origin, warningCell);

  const self = {
    object, element,
    value: () => [...chosen],
    changed: () => JSON.stringify([...chosen].sort()) !== JSON.stringify([...saved].sort()),
    close: () => close(false),
    setError: (text) => { error.hidden = false; error.textContent = text; },
    saved: (doorNames, newWarnings) => {
      saved = doorNames;
      chosen = [...doorNames];
      warnings = newWarnings;
      boxes.forEach((b) => { b.box.checked = chosen.includes(b.option.name); });
    },
    refresh: () => {
      show(chips, chosen.map((name) => h("li", { class: "chip" }, h("span", {}, name),
        h("button", { type: "button", class: "chip-remove", onclick: () => remove(name),
          "aria-label": t("Remove {door} from {name}", { door: name, name: object.name }) }, "×"))));
      chips.hidden = chosen.length === 0;
      show(none, chosen.length ? "" : t("No doors of its own"));
      none.hidden = chosen.length > 0;
      const isChanged = self.changed();
      unsaved.hidden = !isChanged;
      element.classList.toggle("changed", isChanged);
      const parent = object.parent ? rows.get(object.parent.id) : null;
      if (chosen.length) show(origin, h("span", { class: "badge badge-ok" }, t("Own")));
      else if (parent && parent.value().length) {
        show(origin, h("span", { class: "badge" }, t("Inherited from {parent}", { parent: object.parent.name })),
          h("div", { class: "hint" }, parent.value().join(", ")));
      } else show(origin, h("span", { class: "badge badge-muted" }, t("Not mapped")));
      show(warningCell, warnings.length ? h("ul", {}, warnings.map((w) => h("li", {}, w))) : "");
    },
  };
  return self;
}
