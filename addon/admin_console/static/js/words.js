// Codes the API answers, as words in the reader's language: roles, access states, what became of
// a door link, the preview's actions, the call log's outcomes, the audit trail's actions, fields
// and targets. Each function takes a code and gives a word; a code it does not know comes back
// as it is (a backend's own, say), so nothing is ever hidden. word() in dom.js adds the code as a
// tooltip where staff need it.
import { t } from "./i18n.js";

function lookup(table, code) {
  const found = table()[code];
  return found === undefined ? code : found;
}

export const roleWord = (code) => lookup(() => ({
  ADMIN: t("Administrator"), STAFF: t("Staff"), FRONTEND: t("Frontend"),
}), String(code).toUpperCase());

export const stateWord = (code) => lookup(() => ({
  PENDING: t("Pending"), ACTIVE: t("Active"), FAILED: t("Failed"), REVOKING: t("Revoking"), REVOKED: t("Revoked"),
}), code);

// The two ways a guest gets in (an integration's, a backend's and a grant's accessModel).
export const ON_REQUEST = "OPENS_ON_REQUEST";

export const accessModelWord = (code) => lookup(() => ({
  ISSUES_CREDENTIAL: t("The lock system sends the guest a door link for the stay."),
  OPENS_ON_REQUEST: t("The lock opens on request: the guest gets this system's open link and opens the doors with it."),
}), code);

// The state of access that opens on request is that of the guest's open link (there is no set at
// the lock system to speak of).
export const linkStateWord = (code) => lookup(() => ({
  PENDING: t("Open link pending"), ACTIVE: t("Open link live"), FAILED: t("Failed"),
  REVOKING: t("Open link being revoked"), REVOKED: t("Open link revoked"),
}), code);

// How the guest's open link reached them.
export const linkDeliveryWord = (code) => lookup(() => ({
  EMAILED: t("Sent by e-mail"),
  FOR_STAFF: t("Not e-mailed (no mail server is set up): pass it on to the guest"),
  FAILED: t("Sending failed: pass it on to the guest"),
}), code);

// What became of a request to open a door.
export const openingResultWord = (code) => lookup(() => ({
  REFUSED: t("Refused: nothing was sent"),
  SENDING: t("Sent, no answer yet"),
  ACCEPTED: t("Sent; the lock has not confirmed it yet"),
  CONFIRMED: t("Opened: the lock confirmed it"),
  FAILED: t("Failed"),
}), code);

// Why a request to open a door was refused.
export const refusalWord = (code) => lookup(() => ({
  NO_SUCH_LINK: t("the link is not known"),
  LINK_REVOKED: t("the link no longer works"),
  NOT_ON_REQUEST: t("no door access that opens on request"),
  NOT_YET: t("before the time the doors open"),
  ENDED: t("the door access has ended"),
  STATUS: t("the booking's status does not open the doors"),
  INACTIVE: t("opening doors is switched off"),
  NO_SUCH_DOOR: t("not one of the booking's doors"),
  RATE_LIMITED: t("too many attempts"),
}), code);

// What we know of one door link (an access set) at the lock system.
export const setStatusWord = (code) => lookup(() => ({
  SENDING: t("Being created (no answer yet)"),
  CURRENT: t("Live: the guest's current link"),
  LIVE: t("Still open at the lock system, being revoked"),
  GONE: t("Revoked or expired"),
  NEVER: t("Never made"),
}), code);

export const resolutionWord = (code) => lookup(() => ({
  CREATED: t("made"),
  ADOPTED: t("found after a lost answer and kept"),
  ORPHAN_REVOKED: t("found after a lost answer and revoked"),
  REPLACED: t("replaced by a new link"),
  REVOKED: t("revoked"),
  VANISHED: t("found revoked or expired at the lock system"),
  NEVER_MADE: t("the lock system never made it"),
}), code);

export const previewActionWord = (code) => lookup(() => ({
  GRANT: t("Give access"), REVOKE: t("Take access away"), NONE: t("Nothing to do"),
}), code);

export const outcomeWord = (code) => lookup(() => ({
  OK: t("Done"), TRANSIENT: t("Failed for now (retried)"), PERMANENT: t("Refused (needs a fix)"),
}), code);

export const actorKindWord = (code) => lookup(() => ({
  user: t("person"), token: t("API token"), anonymous: t("not signed in"), system: t("the system"),
  guest: t("guest"),
}), code);

export const targetWord = (code) => lookup(() => ({
  integration: t("Integration"), booking: t("Booking"), user: t("User"), token: t("API token"),
  object: t("Object"), booking_field: t("Booking field"), booking_status: t("Booking status"),
  customer: t("Customer"), grant: t("Door access"),
}), code);

// The audit trail's actions; backends add their own (a console part's actionLabels).
const extraActions = {};

export function addActionLabels(labels) {
  Object.assign(extraActions, labels);
}

export const auditActionWord = (code) => extraActions[code] || lookup(() => ({
  "access.bulk_resync": t("Door access resynced in bulk"),
  "access.reissue": t("New door link sent"),
  "access.resync": t("Door access resynced"),
  "access.retry_failed": t("Failed door access retried"),
  "access.revoke": t("Door access revoked"),
  "access.verify_repair": t("Door access repaired after a check"),
  "booking.checkin_refused": t("Check-in at the first opening refused"),
  "booking.status_force": t("Booking status forced"),
  "booking_field.archive": t("Booking field archived"),
  "booking_field.create": t("Booking field added"),
  "booking_field.restore": t("Booking field restored"),
  "booking_status.archive": t("Booking status archived"),
  "booking_status.create": t("Booking status added"),
  "booking_status.restore": t("Booking status restored"),
  "booking_status.update": t("Booking status changed"),
  "credentials.update": t("Credentials changed"),
  "customer.erase": t("Customer's data erased"),
  "door.open": t("Door opened on request"),
  "door.open_refused": t("Request to open a door refused"),
  "integration.activate": t("Integration activated"),
  "integration.archive": t("Integration archived"),
  "integration.create": t("Integration added"),
  "integration.deactivate": t("Integration deactivated"),
  "integration.restore": t("Integration restored"),
  "integration.update": t("Integration settings changed"),
  "mapping.remove": t("Door mapping removed"),
  "mapping.set": t("Door mapping saved"),
  "object.archive": t("Object archived"),
  "object.create": t("Object added"),
  "object.restore": t("Object restored"),
  "object.update": t("Object changed"),
  "secrets.rotate": t("Secret key rotated"),
  "session.expired": t("Session ended"),
  "signin.failure": t("Sign-in failed"),
  "signin.locked": t("Sign-in locked after failures"),
  "signin.success": t("Signed in"),
  signout: t("Signed out"),
  "token.create": t("API token created"),
  "token.revoke": t("API token revoked"),
  "user.create": t("User added"),
  "user.disable": t("User disabled"),
  "user.enable": t("User enabled"),
  "user.password": t("Password changed"),
}), code);

// The audit trail's field keys; backends add their own (a console part's fieldLabels).
const extraFields = {};

export function addFieldLabels(labels) {
  Object.assign(extraFields, labels);
}

/** A field key as words: its label, else the key with spaces (a field nobody labelled). */
export const fieldWord = (code) => extraFields[code] || humane(lookup(() => ({
  active: t("Active"), address: t("Address"), archived: t("Archived"), authorization_id_field:
    t("Booking field for authorisation id"), backend: t("Backend"), bookings: t("Bookings"),
  checkin_status: t("Check-in status"), count: t("Count"),
  default_language: t("Default language (fallback)"), door: t("Door"), door_names: t("Doors"), email: t("Email"),
  expires_at: t("Expires"), grants: t("Door access"), grants_revoked: t("Door access revoked"),
  integration: t("Integration"), live_access: t("Live access"), name: t("Name"), object: t("Object"),
  object_id: t("Object number"), open_action_field: t("Open-action field"), owner: t("Owner"),
  password: t("Password"), queued: t("Queued"), reason: t("Reason"), reference: t("Booking"), refusal: t("Refused because"),
  requeued: t("Queued again"), result: t("Result"), revoke_statuses: t("Revoke statuses"),
  revoked_at: t("Revoked at"), role: t("Role"), status: t("Status"), text: t("Text"),
  time_before_minutes: t("Time before (minutes)"), trigger_statuses: t("Trigger statuses (create)"),
}), code));

function humane(text) {
  if (!/^[a-z0-9_]+$/.test(text)) return text;
  const spaced = text.replace(/_/g, " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

// Recorded values of some keys, as words (a door opening's result and refusal); backends add
// theirs (a console part's valueLabels: {key: {value: word}}).
const extraValues = {};

export function addValueLabels(labels) {
  for (const [key, words] of Object.entries(labels)) extraValues[key] = { ...(extraValues[key] || {}), ...words };
}

/** A recorded value of ``key`` as a word, or null when it has none. */
export function valueWord(key, value) {
  if (typeof value !== "string") return null;
  if (extraValues[key]?.[value]) return extraValues[key][value];
  const own = { result: openingResultWord, refusal: refusalWord }[key];
  const found = own ? own(value) : value;
  return found === value ? null : found;
}
