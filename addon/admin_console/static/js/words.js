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
}), code);

export const targetWord = (code) => lookup(() => ({
  integration: t("Integration"), booking: t("Booking"), user: t("User"), token: t("API token"),
  object: t("Object"), booking_field: t("Booking field"), booking_status: t("Booking status"),
  customer: t("Customer"), grant: t("Door access"),
}), code);

export const auditActionWord = (code) => lookup(() => ({
  "access.bulk_resync": t("Door access resynced in bulk"),
  "access.reissue": t("New door link sent"),
  "access.resync": t("Door access resynced"),
  "access.retry_failed": t("Failed door access retried"),
  "access.revoke": t("Door access revoked"),
  "access.verify_repair": t("Door access repaired after a check"),
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
    t("Booking field for authorisation id"), backend: t("Backend"), bookings: t("Bookings"), count: t("Count"),
  default_language: t("Default language (fallback)"), door_names: t("Doors"), email: t("Email"),
  expires_at: t("Expires"), grants: t("Door access"), grants_revoked: t("Door access revoked"),
  integration: t("Integration"), live_access: t("Live access"), name: t("Name"), object: t("Object"),
  object_id: t("Object number"), owner: t("Owner"), password: t("Password"), queued: t("Queued"),
  reason: t("Reason"), reference: t("Booking"), requeued: t("Queued again"), revoke_statuses: t("Revoke statuses"),
  revoked_at: t("Revoked at"), role: t("Role"), status: t("Status"), text: t("Text"),
  time_before_minutes: t("Time before (minutes)"), trigger_statuses: t("Trigger statuses (create)"),
}), code));

function humane(text) {
  if (!/^[a-z0-9_]+$/.test(text)) return text;
  const spaced = text.replace(/_/g, " ");
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}
