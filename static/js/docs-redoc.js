/* Redoc for /docs/redoc/: served locally; shows the generated x-codeSamples and x-price. */
(function () {
  "use strict";
  var el = document.getElementById("redoc");
  window.Redoc.init(el.getAttribute("data-spec-url"), {
    scrollYOffset: ".docs-topbar",
    expandResponses: "200,201",
    hideHostname: false,
    pathInMiddlePanel: true,
    theme: {
      colors: { primary: { main: "#4f46e5" } },
      typography: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif", headings: { fontFamily: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" } },
      sidebar: { backgroundColor: "#f8fafc" }
    }
  }, el, function () { document.body.setAttribute("data-docs-ready", "true"); });
})();
