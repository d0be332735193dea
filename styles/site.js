/* editio: progressive enhancement of the static edition. Everything works without it:
   the view toggle is CSS-only, note calls link to the notes, the annotation list is complete.
   This script adds: remembered reading view and layers, the side-by-side view, note popovers (hover, focus, tap; Esc closes),
   the access date and paragraph in "cite this", annotation filters, and Pagefind search. */
(function () {
  "use strict";
  var doc = document;
  doc.documentElement.classList.add("js");

  /* ---- reading view: remember the choice; ?view=diplomatic|parallel selects it.
     Side by side builds, once, a diplomatic copy of each numbered paragraph beside it
     (the copy has no ids, no links to follow twice, and is read as the source). */
  function buildParallel() {
    var text = doc.querySelector(".doc-body .tei-text");
    if (!text || text.hasAttribute("data-parallel")) return;
    text.setAttribute("data-parallel", "");
    var heads = doc.createElement("div");
    heads.className = "parallel-heads";
    heads.setAttribute("aria-hidden", "true");
    heads.innerHTML = "<span>Diplomatic (the source as it stands)</span><span>Edited</span>";
    text.parentNode.insertBefore(heads, text);
    text.querySelectorAll("[data-para]").forEach(function (p) {
      if (p.parentNode.closest("[data-para]")) return;
      var ed = doc.createElement("div"), dip = doc.createElement("div");
      ed.className = "ed-cell";
      dip.className = "dip-cell";
      dip.setAttribute("aria-label", "Diplomatic reading");
      dip.setAttribute("role", "group");
      Array.prototype.slice.call(p.childNodes).forEach(function (n) {
        if (n.nodeType === 1 && n.classList.contains("permalink")) return;
        ed.appendChild(n);
      });
      var copy = ed.cloneNode(true);
      copy.querySelectorAll("[id]").forEach(function (e) { e.removeAttribute("id"); });
      copy.querySelectorAll("a[href]").forEach(function (a) { a.setAttribute("tabindex", "-1"); });
      while (copy.firstChild) dip.appendChild(copy.firstChild);
      p.insertBefore(ed, p.firstChild);
      p.insertBefore(dip, ed);
    });
  }

  function setView(value) {
    if (value === "parallel") buildParallel();
    doc.body.classList.toggle("parallel", value === "parallel");
    doc.documentElement.setAttribute("data-view", value);
  }

  function setupViews() {
    var radios = doc.querySelectorAll('input[name="view"]');
    if (!radios.length) return;
    var want = null;
    try {
      want = new URLSearchParams(location.search).get("view") || localStorage.getItem("editio-view");
    } catch (e) { /* storage may be blocked */ }
    radios.forEach(function (r) {
      if (want && r.value === want) r.checked = true;
      r.addEventListener("change", function () {
        try { localStorage.setItem("editio-view", r.value); } catch (e) { /* ignore */ }
        setView(r.value);
      });
    });
    var checked = doc.querySelector('input[name="view"]:checked');
    if (checked) setView(checked.value);
  }

  /* ---- layers (names, cross-references, errors, back-links): off by default, the
     reader's choice remembered across pages */
  function setupLayers() {
    doc.querySelectorAll("input[data-layer]").forEach(function (box) {
      var key = "editio-layer-" + box.getAttribute("data-layer");
      try { box.checked = localStorage.getItem(key) === "1"; } catch (e) { /* ignore */ }
      box.addEventListener("change", function () {
        try { localStorage.setItem(key, box.checked ? "1" : "0"); } catch (e) { /* ignore */ }
      });
    });
  }

  /* ---- note popovers */
  var open = null, hideTimer = null, counter = 0, refocusing = null;

  function samePage(a) {
    var u = new URL(a.getAttribute("href"), location.href);
    return u.pathname === location.pathname && u.hash.length > 1 ? decodeURIComponent(u.hash.slice(1)) : null;
  }

  function build(call, li) {
    var pop = doc.createElement("div");
    pop.className = "popover";
    pop.id = "popover-" + (++counter);
    pop.setAttribute("role", "dialog");
    var heading = call.hasAttribute("data-gloss-kind") ? call.getAttribute("data-gloss-kind")
                  : "Note " + (call.getAttribute("data-note") || "");
    pop.setAttribute("aria-label", heading);
    var title = doc.createElement("p");
    title.className = "popover-title";
    title.textContent = heading;
    pop.appendChild(title);
    var body = doc.createElement("div");
    body.className = "popover-body";
    Array.prototype.forEach.call(li.childNodes, function (n) { body.appendChild(n.cloneNode(true)); });
    body.querySelectorAll("[id]").forEach(function (e) { e.removeAttribute("id"); });
    body.querySelectorAll(".note-back").forEach(function (e) { e.remove(); });
    pop.appendChild(body);
    var close = doc.createElement("button");
    close.type = "button";
    close.className = "popover-close";
    close.setAttribute("aria-label", "Close note");
    close.textContent = "×";
    close.addEventListener("click", function () { hide(true); });
    pop.appendChild(close);
    pop.addEventListener("mouseenter", function () { clearTimeout(hideTimer); });
    pop.addEventListener("mouseleave", function () { if (open && !open.pinned) schedule(); });
    pop.addEventListener("focusout", onFocusOut);
    return pop;
  }

  function place(call, pop) {
    var host = pop.offsetParent || doc.body;
    var hr = host.getBoundingClientRect(), cr = call.getBoundingClientRect();
    var width = pop.offsetWidth, maxLeft = doc.documentElement.clientWidth - hr.left - width - 8;
    var left = Math.max(Math.min(cr.left - hr.left - 16, maxLeft), -hr.left + 8);
    pop.style.left = left + "px";
    pop.style.top = (cr.bottom - hr.top + 6) + "px";
  }

  function show(call, li, pinned) {
    clearTimeout(hideTimer);
    if (open && open.call === call) { open.pinned = open.pinned || pinned; return; }
    hide(false);
    var pop = build(call, li);
    call.insertAdjacentElement("afterend", pop);
    call.setAttribute("aria-expanded", "true");
    call.setAttribute("aria-controls", pop.id);
    place(call, pop);
    open = { call: call, pop: pop, pinned: pinned };
  }

  function hide(refocus) {
    clearTimeout(hideTimer);
    if (!open) return;
    var o = open;
    open = null;
    o.call.setAttribute("aria-expanded", "false");
    o.call.removeAttribute("aria-controls");
    o.pop.remove();
    if (refocus) { refocusing = o.call; o.call.focus(); refocusing = null; }
  }

  function schedule() {
    clearTimeout(hideTimer);
    hideTimer = setTimeout(function () { if (open && !open.pinned) hide(false); }, 350);
  }

  function onFocusOut(e) {
    if (!open) return;
    var to = e.relatedTarget;
    if (to && (open.pop.contains(to) || to === open.call)) return;
    if (to === null && open.pinned) return;  // clicks on non-focusable text inside
    hide(false);
  }

  function setupNotes() {
    doc.querySelectorAll("a.note-call").forEach(function (call) {
      var id = samePage(call);
      var li = id && doc.getElementById(id);
      if (!li) return;
      call.setAttribute("aria-expanded", "false");
      call.addEventListener("mouseenter", function () { show(call, li, false); });
      call.addEventListener("mouseleave", function () { if (open && !open.pinned) schedule(); });
      call.addEventListener("focus", function () { if (refocusing !== call) show(call, li, false); });
      call.addEventListener("blur", onFocusOut);
      call.addEventListener("click", function (e) {
        e.preventDefault();
        if (open && open.call === call && open.pinned) { hide(false); return; }
        if (open && open.call === call) { open.pinned = true; return; }
        show(call, li, true);
      });
    });
    doc.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && open) { e.preventDefault(); hide(true); }
    });
    doc.addEventListener("click", function (e) {
      if (open && !open.pop.contains(e.target) && !open.call.contains(e.target)) hide(false);
    });
    window.addEventListener("resize", function () { if (open) place(open.call, open.pop); });
  }

  /* ---- glossary popovers: a name or term shows its entry (the link goes to the list) */
  function setupGlosses() {
    doc.querySelectorAll("a.gloss[data-gloss]").forEach(function (a) {
      var entry = doc.createElement("div");
      var p = doc.createElement("p");
      p.textContent = a.getAttribute("data-gloss");
      entry.appendChild(p);
      a.addEventListener("mouseenter", function () { show(a, entry, false); });
      a.addEventListener("mouseleave", function () { if (open && !open.pinned) schedule(); });
      a.addEventListener("focus", function () { if (refocusing !== a) show(a, entry, false); });
      a.addEventListener("blur", onFocusOut);
    });
  }

  /* ---- cite this: the address, the paragraph in view, today's date */
  function setupCite() {
    var box = doc.querySelector(".cite");
    if (!box) return;
    var url = box.querySelector(".cite-url"), para = box.querySelector(".cite-para"),
        date = box.querySelector(".cite-date");
    var base = url.textContent;
    if (!/^https?:/.test(base) && /^https?:/.test(location.protocol)) base = location.href.split("#")[0];
    function update() {
      var id = decodeURIComponent(location.hash.slice(1));
      var el = id && doc.getElementById(id);
      var p = el && el.closest("[data-para]");
      para.textContent = p ? ", ¶ " + p.getAttribute("data-para") : "";
      url.textContent = base + (p ? "#" + p.id : "");
    }
    date.textContent = new Date().toISOString().slice(0, 10);
    update();
    window.addEventListener("hashchange", update);
  }

  /* ---- annotations page: filters */
  function setupFilters() {
    var form = doc.getElementById("annot-filter");
    if (!form) return;
    form.hidden = false;
    var items = doc.querySelectorAll(".annot-item"), sections = doc.querySelectorAll(".annot-doc");
    var status = doc.getElementById("filter-status");
    var kind = form.elements.kind, type = form.elements.type, cert = form.elements.cert, dsel = form.elements.doc;
    function apply() {
      Array.prototype.forEach.call(type.options, function (o) {
        o.hidden = !!(kind.value && o.value && o.getAttribute("data-kind") !== kind.value);
      });
      if (type.selectedOptions[0] && type.selectedOptions[0].hidden) type.value = "";
      var shown = 0;
      items.forEach(function (li) {
        var ok = (!kind.value || li.dataset.kind === kind.value) && (!type.value || li.dataset.type === type.value) &&
                 (!cert.value || li.dataset.cert === cert.value) && (!dsel.value || li.dataset.doc === dsel.value);
        li.hidden = !ok;
        if (ok) shown++;
      });
      sections.forEach(function (s) { s.hidden = !s.querySelector(".annot-item:not([hidden])"); });
      status.textContent = "Showing " + shown + " of " + items.length + " annotations.";
      var q = new URLSearchParams();
      ["kind", "type", "cert", "doc"].forEach(function (k) { if (form.elements[k].value) q.set(k, form.elements[k].value); });
      try { history.replaceState(null, "", q.toString() ? "?" + q : location.pathname); } catch (e) { /* file: */ }
    }
    var q = new URLSearchParams(location.search);
    ["kind", "type", "cert", "doc"].forEach(function (k) { if (q.get(k)) form.elements[k].value = q.get(k); });
    form.addEventListener("change", apply);
    form.addEventListener("submit", function (e) { e.preventDefault(); });
    apply();
  }

  /* ---- search (Pagefind UI, from the site's own pagefind/ folder) */
  function setupSearch() {
    var el = doc.getElementById("search");
    if (!el) return;
    if (location.protocol === "file:") {
      doc.getElementById("search-file-notice").hidden = false;
      return;
    }
    if (typeof window.PagefindUI !== "function") return;
    function rel(u) { return u.replace(/^\/+/, ""); }
    new window.PagefindUI({
      element: "#search", showSubResults: true, showImages: false, resetStyles: false,
      bundlePath: new URL(el.getAttribute("data-bundle") || "pagefind/", location.href).href,
      processResult: function (r) {
        r.url = rel(r.url);
        (r.sub_results || []).forEach(function (s) { s.url = rel(s.url); });
        return r;
      }
    });
    var q = new URLSearchParams(location.search).get("q");
    var input = el.querySelector("input");
    if (input) {
      input.setAttribute("aria-label", "Search the edition");
      if (q) { input.value = q; input.dispatchEvent(new Event("input", { bubbles: true })); }
    }
  }

  // a table too wide for the screen scrolls in its box: the box is then a labelled region
  // the keyboard can reach and scroll (WCAG 2.1.1); a box that fits is no tab stop
  function setupWideTables() {
    var wraps = doc.querySelectorAll(".table-wrap");
    if (!wraps.length) return;
    function mark() {
      for (var i = 0; i < wraps.length; i++) {
        var w = wraps[i];
        if (w.scrollWidth > w.clientWidth + 1) {
          w.setAttribute("tabindex", "0");
          w.setAttribute("role", "region");
          var cap = w.querySelector("caption");
          w.setAttribute("aria-label", cap && cap.textContent.trim() ? cap.textContent.trim() : "Table (scrolls sideways)");
        } else if (w.getAttribute("tabindex") === "0") {
          w.removeAttribute("tabindex"); w.removeAttribute("role"); w.removeAttribute("aria-label");
        }
      }
    }
    mark();
    window.addEventListener("resize", mark);
  }

  function ready() { setupLayers(); setupViews(); setupNotes(); setupGlosses(); setupCite(); setupFilters(); setupSearch(); setupWideTables(); }
  if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", ready); else ready();
})();
