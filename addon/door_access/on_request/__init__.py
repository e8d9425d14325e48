"""The second access model: a backend whose locks open on request (``AccessModel.OPENS_ON_REQUEST``).

Entitlement stays the core's (statuses, window, mapping, integration state). What differs is what
a guest holds and who opens the door: the guest holds the product's own **open link**
(``links``), issued and revoked by the engine exactly as it issues and revokes a vendor's access
set — journaled, adopted, swept and verified the same way — and delivered by the product's own
message (``delivery``); the door opens when the guest (or staff for them) asks (``opening``),
checked against the entitlement at that moment, and the first confirmed opening checks the guest
in."""
