/* Per-operation docs page: language tabs for the code samples and copy buttons. Works
 * without JS too (all samples are rendered; the tabs only hide the others). */
(function () {
  "use strict";
  var tabs = Array.prototype.slice.call(document.querySelectorAll("[data-sample-tab]"));
  var panels = Array.prototype.slice.call(document.querySelectorAll("[data-sample-panel]"));
  function show(lang) {
    tabs.forEach(function (tab) { tab.setAttribute("aria-selected", String(tab.getAttribute("data-sample-tab") === lang)); });
    panels.forEach(function (panel) { panel.hidden = panel.getAttribute("data-sample-panel") !== lang; });
    try { window.localStorage.setItem("tollgate-docs-lang", lang); } catch (e) { /* private mode */ }
  }
  tabs.forEach(function (tab) {
    tab.addEventListener("click", function () { show(tab.getAttribute("data-sample-tab")); });
  });
  var saved = null;
  try { saved = window.localStorage.getItem("tollgate-docs-lang"); } catch (e) { saved = null; }
  if (tabs.length) { show(saved && document.querySelector('[data-sample-tab="' + saved + '"]') ? saved : tabs[0].getAttribute("data-sample-tab")); }

  Array.prototype.forEach.call(document.querySelectorAll("[data-copy]"), function (button) {
    button.addEventListener("click", function () {
      var source = document.getElementById(button.getAttribute("data-copy"));
      if (!source || !navigator.clipboard) { return; }
      navigator.clipboard.writeText(source.textContent).then(function () {
        var label = button.textContent;
        button.textContent = "Copied";
        window.setTimeout(function () { button.textContent = label; }, 1500);
      });
    });
  });
})();
