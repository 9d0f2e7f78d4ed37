// Small behaviours the HTMX attributes do not cover. No dependencies besides htmx.
(function () {
  "use strict";

  // Keep streamed tables bounded: drop rows beyond data-max-rows (newest rows are on top).
  function trim(tbody) {
    var max = parseInt(tbody.getAttribute("data-max-rows") || "0", 10);
    if (!max) return;
    while (tbody.rows.length > max) tbody.deleteRow(tbody.rows.length - 1);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.hasAttribute && target.hasAttribute("data-max-rows")) {
      trim(target);
      var note = target.closest("section") && target.closest("section").querySelector(".empty-note");
      if (note) note.remove();
    }
  });

  // Selects that filter a page submit their form on change.
  document.addEventListener("change", function (event) {
    var element = event.target;
    if (element && element.hasAttribute && element.hasAttribute("data-autosubmit") && element.form) {
      element.form.submit();
    }
  });
})();
