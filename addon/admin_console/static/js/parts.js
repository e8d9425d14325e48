// The parts backends add to the console (/admin/parts.json): each an ES module of the backend's
// own that exports `tabs` (an integration's tabs only it can fill: the first is its Authentication
// tab, others follow in its set-up guide's order, all before Details) and may export
// `fieldLabels(t)` (words for the audit trail's field keys of its own settings), `valueLabels(t)`
// (words for recorded values of those keys: {key: {value: word}}), `actionLabels(t)` (words for
// its own audit actions) and `operationLabels(t)` (words for the calls to its lock system the call
// log lists).

let parts = null;

/** [{backend, script, fields}], read once per page load. */
export function consoleParts() {
  parts ??= fetch("/admin/parts.json", { credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : { parts: [] }))
    .then((body) => body.parts);
  return parts;
}

export async function partModule(part) {
  return import(part.script);
}

/** Every part's words: {fields, values, actions, operations} (each key → word; values: key → value → word). */
export async function partLabels(t) {
  const labels = { fields: {}, values: {}, actions: {}, operations: {} };
  for (const part of await consoleParts()) {
    try {
      const module = await partModule(part);
      if (typeof module.fieldLabels === "function") Object.assign(labels.fields, module.fieldLabels(t));
      if (typeof module.valueLabels === "function") {
        for (const [key, words] of Object.entries(module.valueLabels(t))) {
          labels.values[key] = { ...(labels.values[key] || {}), ...words };
        }
      }
      if (typeof module.actionLabels === "function") Object.assign(labels.actions, module.actionLabels(t));
      if (typeof module.operationLabels === "function") Object.assign(labels.operations, module.operationLabels(t));
    } catch {
      // a part that fails to load leaves its keys as they are
    }
  }
  return labels;
}
