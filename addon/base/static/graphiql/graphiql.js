// GraphiQL served from our own files (no CDN). A signed-in browser's queries carry the session's
// CSRF token (read from its cookie) in the header the server checks; the documented operations of
// graphql/operations/ can be loaded into the editor from the list above it.
(function () {
  "use strict";
  var page = document.getElementById("graphiql-page");
  var csrfCookie = page.dataset.csrfCookie;
  var csrfHeader = page.dataset.csrfHeader;

  function cookie(name) {
    var found = document.cookie.split("; ").find(function (c) { return c.indexOf(name + "=") === 0; });
    return found ? decodeURIComponent(found.slice(name.length + 1)) : null;
  }

  var headers = {};
  var token = cookie(csrfCookie);
  if (token) headers[csrfHeader] = token;
  var url = location.origin + "/graphql";
  var fetcher = GraphiQL.createFetcher({
    url: url,
    subscriptionUrl: url.replace(/^http/, "ws"),
    headers: headers,
  });

  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  var state = { query: undefined, variables: undefined };
  function render() {
    root.render(React.createElement(GraphiQL, {
      fetcher: fetcher,
      query: state.query,
      variables: state.variables,
      defaultEditorToolsVisibility: true,
      shouldPersistHeaders: false,
    }));
  }
  render();

  var select = document.getElementById("operations");
  var operations = [];
  fetch("/graphql/operations.json", { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : { operations: [] }; })
    .then(function (body) {
      operations = body.operations;
      operations.forEach(function (operation, index) {
        var option = document.createElement("option");
        option.value = String(index);
        option.textContent = operation.file + " — " + operation.name + (operation.role ? " (" + operation.role + ")" : "");
        option.title = operation.description;
        select.appendChild(option);
      });
    });
  document.getElementById("load-operation").addEventListener("click", function () {
    var operation = operations[Number(select.value)];
    if (!operation) return;
    state = { query: operation.text, variables: operation.variables || "" };
    render();
  });
})();
