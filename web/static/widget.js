/* regiobot's room widget: asks its Matrix client (Element) for an OpenID token over the Widget API
 * (postMessage) and signs in with it; the page then reloads as the signed-in person's.
 *
 * Written by hand on purpose: the widget needs three messages of the API (answer the client's
 * capabilities request, ask get_openid, take openid_credentials when the client asked its user
 * first), which is less to review than a bundled library and its build. Messages are taken only
 * from the parent frame at one of the origins in [web] widget_hosts, and sent only there.
 */
(function () {
  "use strict";
  var status = document.getElementById("widget-status");
  if (!status) {
    return;
  }
  var hosts = (status.dataset.hosts || "").split(" ").filter(Boolean);
  var widgetId = new URLSearchParams(window.location.search).get("widgetId");
  var parentOrigin = null;
  var pending = null; // the requestId of our get_openid
  var finished = false;

  function say(text) {
    status.textContent = text;
  }

  function post(message) {
    window.parent.postMessage(message, parentOrigin);
  }

  function askForToken() {
    pending = "regiobot-" + Date.now().toString(36) + Math.random().toString(36).slice(2);
    post({ api: "fromWidget", widgetId: widgetId, requestId: pending, action: "get_openid", data: {} });
  }

  function signIn(credentials) {
    if (finished) {
      return;
    }
    finished = true;
    fetch(status.dataset.signIn, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        access_token: credentials.access_token,
        matrix_server_name: credentials.matrix_server_name,
      }),
    })
      .then(function (response) {
        return response.json().then(function (answer) {
          if (response.ok) {
            window.location.replace(status.dataset.next);
          } else {
            say(answer.error || status.dataset.failed);
          }
        });
      })
      .catch(function () {
        say(status.dataset.failed);
      });
  }

  function credentials(data) {
    if (!data || typeof data !== "object") {
      return;
    }
    if (data.state === "allowed") {
      signIn(data);
    } else if (data.state === "blocked") {
      say(status.dataset.denied);
    } // "request": the client asks its user first, then sends openid_credentials
  }

  window.addEventListener("message", function (event) {
    var message = event.data;
    if (event.source !== window.parent || !message || typeof message !== "object") {
      return;
    }
    if (hosts.indexOf(event.origin) < 0 || (parentOrigin !== null && event.origin !== parentOrigin)) {
      return;
    }
    parentOrigin = event.origin;
    if (message.api === "toWidget") {
      widgetId = widgetId || message.widgetId;
      if (message.widgetId !== widgetId) {
        return;
      }
      var reply = Object.assign({}, message);
      if (message.action === "capabilities") {
        reply.response = { capabilities: [] };
        post(reply);
        askForToken();
      } else if (message.action === "openid_credentials" || message.action === "notify_capabilities") {
        reply.response = {};
        post(reply);
        if (message.action === "openid_credentials" && message.data && message.data.original_request_id === pending) {
          credentials(message.data);
        }
      } else {
        reply.response = { error: { message: "not supported by this widget" } };
        post(reply);
      }
    } else if (message.api === "fromWidget" && message.requestId === pending && message.response) {
      credentials(message.response);
    }
  });
})();
