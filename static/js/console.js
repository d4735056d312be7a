/* Operator console: buttons that open a <details> card (New product, Settings) and scroll to it.
   Loaded from 'self' (strict CSP, no inline JS). */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var link = event.target.closest("[data-open-details]");
    if (!link) return;
    var target = document.getElementById(link.getAttribute("data-open-details"));
    if (!target) return;
    event.preventDefault();
    target.open = true;
    target.scrollIntoView({ behavior: "smooth", block: "start" });
    var first = target.querySelector("input:not([type=hidden]), textarea, select");
    if (first) first.focus({ preventScroll: true });
  });
})();
