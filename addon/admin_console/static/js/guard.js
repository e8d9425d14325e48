// Unsaved changes: the page that has some says how to know (`guardChanges(dirty)`); the frame asks
// before it is left (app.js).

let dirty = null;

/** A page tells the frame how to know it has unsaved changes (null: it never has any). */
export function guardChanges(check) {
  dirty = check;
}

export function hasUnsaved() {
  return Boolean(dirty && dirty());
}
