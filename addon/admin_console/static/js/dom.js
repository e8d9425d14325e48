// A few helpers to build the page from plain DOM nodes (no framework, no build step).

let counter = 0;

/** A unique element id, for label/for and aria-describedby pairs. */
export function uid(prefix = "c") {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** h("button", {type: "button", onclick}, "Save") — attributes, properties and children. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else if (name === "class") element.className = value;
    else if (name === "dataset") Object.assign(element.dataset, value);
    else if (["value", "checked", "selected", "disabled", "multiple"].includes(name)) element[name] = value;
    else element.setAttribute(name, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace what `element` shows. */
export function show(element, ...children) {
  element.replaceChildren();
  append(element, children);
  return element;
}

/** A labelled control: the label, the control and a place for its error, tied together. */
export function field(label, control, { required = false, hint = null } = {}) {
  const id = control.id || uid("field");
  control.id = id;
  const error = h("p", { class: "field-error", id: `${id}-error`, role: "alert", hidden: true });
  const described = [error.id];
  let hintNode = null;
  if (hint) {
    hintNode = h("p", { class: "hint", id: `${id}-hint` }, hint);
    described.push(hintNode.id);
  }
  control.setAttribute("aria-describedby", described.join(" "));
  if (required) control.required = true;
  const wrapper = h("div", { class: "field" },
    h("label", { for: id }, label, required ? h("span", { class: "required", "aria-hidden": "true" }, " *") : null),
    control, hintNode, error);
  wrapper.setError = (message) => {
    error.hidden = !message;
    error.textContent = message || "";
    control.toggleAttribute("aria-invalid", Boolean(message));
  };
  return wrapper;
}

/** A message box: kind is "info", "ok" or "error". */
export function notice(kind, ...children) {
  return h("div", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...children);
}

/** A word for a code, with the code itself in a tooltip (for staff who need it). */
export function word(text, code) {
  return h("span", { class: "coded", title: code }, text);
}

/** Ask before doing something that cannot be undone: a modal dialog with `title`, `body` (nodes)
 *  and two buttons; resolves true when the reader confirms. Escape and the cancel button say no;
 *  focus returns to where it was. For a dangerous action the cancel button has the focus first. */
export function confirmDialog({ title, body = null, confirm, cancel, danger = false }) {
  const opener = document.activeElement;
  const heading = h("h2", { id: uid("dialog-title") }, title);
  const no = h("button", { type: "button", class: "secondary", value: "no" }, cancel);
  const yes = h("button", { type: "button", class: danger ? "danger" : "", value: "yes" }, confirm);
  const dialog = h("dialog", { class: "confirm", "aria-labelledby": heading.id },
    heading, h("div", { class: "dialog-body" }, body), h("p", { class: "dialog-actions" }, yes, " ", no));
  document.body.append(dialog);
  return new Promise((resolve) => {
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(answer);
    };
    yes.addEventListener("click", () => done(true));
    no.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      done(false);
    });
    dialog.showModal();
    (danger ? no : yes).focus();
  });
}

/** Values chosen in a <select multiple>. */
export function selected(select) {
  return Array.from(select.selectedOptions).map((option) => option.value);
}
