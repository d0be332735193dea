// editio serve --watch: reload the page when the site is rebuilt; show the located
// diagnostics over the last good rendering while the sources have errors.
// Served as a file (the site's Content-Security-Policy allows no inline script); it talks
// only to the server it came from (Server-Sent Events, connect-src 'self').
(function () {
  "use strict";
  var script = document.currentScript;
  var loaded = Number(script && script.dataset.generation || 0);
  var overlay = null;

  function css() {
    if (document.getElementById("editio-live-css")) return;
    var link = document.createElement("link");
    link.id = "editio-live-css";
    link.rel = "stylesheet";
    link.href = "/__editio/live.css";
    document.head.appendChild(link);
  }

  function show(diagnostics) {
    css();
    if (!overlay) {
      overlay = document.createElement("section");
      overlay.id = "editio-live-overlay";
      overlay.setAttribute("role", "alert");
      overlay.setAttribute("aria-live", "assertive");
      document.body.appendChild(overlay);
    }
    overlay.textContent = "";
    var h = document.createElement("h2");
    var errors = diagnostics.filter(function (d) { return d.severity === "error"; }).length;
    h.textContent = "The sources have " + errors + " error" + (errors === 1 ? "" : "s") +
      "; this is the last good version of the page";
    overlay.appendChild(h);
    var list = document.createElement("ul");
    diagnostics.forEach(function (d) {
      var li = document.createElement("li");
      li.className = "editio-live-" + d.severity;
      var loc = document.createElement("code");
      loc.textContent = d.file + (d.line ? ":" + d.line + ":" + (d.col || 1) : "");
      var code = document.createElement("code");
      code.textContent = "[" + d.code + "]";
      li.appendChild(loc);
      li.appendChild(document.createTextNode(" " + d.severity + ": " + d.message + " "));
      li.appendChild(code);
      list.appendChild(li);
    });
    overlay.appendChild(list);
  }

  function hide() {
    if (overlay) { overlay.remove(); overlay = null; }
  }

  // this page's file name: it reloads when it changed (or every page did: "*"), not when
  // only other pages of the site did
  var me = decodeURIComponent(location.pathname.split("/").pop() || "") || "index.html";

  var source = new EventSource("/__editio/events");
  source.onmessage = function (event) {
    var state = JSON.parse(event.data);
    if (!state.ok) { show(state.diagnostics); return; }
    var pages = state.pages || {};
    var at = Math.max(pages[me] || 0, pages["*"] || 0);
    if (state.generation > loaded && (at > loaded || !state.pages)) { location.reload(); return; }
    hide();
  };
})();
