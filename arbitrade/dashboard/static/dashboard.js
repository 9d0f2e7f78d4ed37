// Small behaviours the HTMX attributes do not cover. No dependencies besides htmx.
(function () {
  "use strict";

  // Keep streamed tables bounded: drop rows beyond data-max-rows (newest rows are on top).
  function trim(tbody) {
    var max = parseInt(tbody.getAttribute("data-max-rows") || "0", 10);
    if (!max) return;
    while (tbody.rows.length > max) tbody.deleteRow(tbody.rows.length - 1);
    var section = tbody.closest("section");
    var note = section && section.querySelector(".empty-note");
    if (note && tbody.rows.length) note.remove();
  }

  function watch() {
    document.querySelectorAll("tbody[data-max-rows]").forEach(function (tbody) {
      new MutationObserver(function () { trim(tbody); }).observe(tbody, { childList: true });
      trim(tbody);
    });
  }

  // Selects that filter a page submit their form on change.
  document.addEventListener("change", function (event) {
    var element = event.target;
    if (element && element.hasAttribute && element.hasAttribute("data-autosubmit") && element.form) {
      element.form.submit();
    }
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", watch);
  } else {
    watch();
  }
})();
