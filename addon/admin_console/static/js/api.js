// The public GraphQL API, same-origin: the session cookie signs the request in, and the CSRF token
// (readable in its own cookie) goes in the X-CSRF-Token header, as the server requires.
import { language, t } from "./i18n.js";

const CSRF_COOKIE = "ireserve_csrf";
const CSRF_HEADER = "X-CSRF-Token";

export class ApiError extends Error {
  constructor(message, code = null, data = null) {
    super(message);
    this.code = code;
    this.data = data;
  }
}

export function csrfToken() {
  const found = document.cookie.split("; ").find((c) => c.startsWith(`${CSRF_COOKIE}=`));
  return found ? decodeURIComponent(found.slice(CSRF_COOKIE.length + 1)) : "";
}

export function signIn() {
  location.assign(`/admin/login?next=${encodeURIComponent("/admin")}`);
}

/** Run a query or mutation; GraphQL errors become one ApiError (its code from extensions). */
export async function gql(query, variables = {}) {
  let response;
  try {
    response = await fetch("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "Accept-Language": language,
        [CSRF_HEADER]: csrfToken(),
      },
      body: JSON.stringify({ query, variables }),
    });
  } catch {
    throw new ApiError(t("The server cannot be reached. Check the connection and try again."), "NETWORK");
  }
  let body;
  try {
    body = await response.json();
  } catch {
    throw new ApiError(t("The server answered unexpectedly (HTTP {status}).", { status: response.status }), "HTTP");
  }
  if (body.errors && body.errors.length) {
    const code = body.errors[0].extensions?.code || null;
    if (code === "UNAUTHENTICATED") signIn();
    throw new ApiError(body.errors.map((error) => error.message).join(" "), code, body.data);
  }
  return body.data;
}

/** The mutation's user errors by field ("" for those of no field). */
export function errorsByField(errors) {
  const found = {};
  for (const error of errors || []) {
    const key = error.field || "";
    found[key] = found[key] ? `${found[key]} ${error.message}` : error.message;
  }
  return found;
}

/** A subscription over graphql-transport-ws on /graphql, signed in by the session cookie.
 *  onData gets each event's data; onDown is called once when the socket closes. Returns stop(). */
export function subscribe(query, variables, onData, onDown) {
  const socket = new WebSocket(`${location.origin.replace(/^http/, "ws")}/graphql`, "graphql-transport-ws");
  let stopped = false;
  socket.addEventListener("open", () => socket.send(JSON.stringify({ type: "connection_init", payload: {} })));
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "connection_ack") {
      socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query, variables } }));
    } else if (message.type === "ping") {
      socket.send(JSON.stringify({ type: "pong" }));
    } else if (message.type === "next" && message.payload.data) {
      onData(message.payload.data);
    }
  });
  socket.addEventListener("close", () => {
    if (!stopped && onDown) onDown();
  });
  return () => {
    stopped = true;
    socket.close();
  };
}
