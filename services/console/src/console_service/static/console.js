/* ZenOps console: progressive enhancement only (every form works without it). No inline scripts (CSP). */
(function () {
  "use strict";

  // Drop files on a drop zone: they go into its real <input type=file>, whose change submits the form.
  function bindDropzones(root) {
    root.querySelectorAll(".dropzone").forEach(function (zone) {
      if (zone.dataset.bound) return;
      zone.dataset.bound = "1";
      var input = zone.querySelector("input[type=file]");
      ["dragenter", "dragover"].forEach(function (name) {
        zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("over"); });
      });
      ["dragleave", "drop"].forEach(function (name) {
        zone.addEventListener(name, function () { zone.classList.remove("over"); });
      });
      zone.addEventListener("drop", function (e) {
        e.preventDefault();
        if (!input || !e.dataTransfer || !e.dataTransfer.files.length) return;
        input.files = e.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  // Annexure order: drag rows, or Alt+ArrowUp/Down on a focused row; hidden inputs follow the DOM order.
  function bindSortables(root) {
    root.querySelectorAll("[data-sortable]").forEach(function (list) {
      if (list.dataset.bound) return;
      list.dataset.bound = "1";
      var dragged = null;
      list.addEventListener("dragstart", function (e) {
        dragged = e.target.closest("li");
        if (dragged) { dragged.classList.add("dragging"); e.dataTransfer.effectAllowed = "move"; }
      });
      list.addEventListener("dragend", function () {
        if (dragged) dragged.classList.remove("dragging");
        dragged = null;
        renumber(list);
      });
      list.addEventListener("dragover", function (e) {
        e.preventDefault();
        var over = e.target.closest("li");
        if (!dragged || !over || over === dragged) return;
        var rect = over.getBoundingClientRect();
        var after = e.clientY > rect.top + rect.height / 2;
        list.insertBefore(dragged, after ? over.nextSibling : over);
      });
      list.addEventListener("keydown", function (e) {
        var row = e.target.closest("li");
        if (!row || !e.altKey) return;
        if (e.key === "ArrowUp" && row.previousElementSibling) {
          list.insertBefore(row, row.previousElementSibling);
        } else if (e.key === "ArrowDown" && row.nextElementSibling) {
          list.insertBefore(row.nextElementSibling, row);
        } else { return; }
        e.preventDefault();
        row.focus();
        renumber(list);
      });
    });
  }

  function renumber(list) {
    list.querySelectorAll("li").forEach(function (row, i) {
      var order = row.querySelector(".order");
      if (order) order.textContent = String(i + 1);
    });
  }

  // An override needs a reason: the reason becomes required while the box is ticked.
  function bindOverride(root) {
    root.querySelectorAll("[data-override]").forEach(function (box) {
      if (box.dataset.bound) return;
      box.dataset.bound = "1";
      var reason = box.form && box.form.querySelector("[data-override-reason]");
      box.addEventListener("change", function () { if (reason) reason.required = box.checked; });
    });
  }

  function bind(root) { bindDropzones(root); bindSortables(root); bindOverride(root); }

  // After an action swaps the page body, move focus to its outcome so keyboard and screen-reader users
  // land where the answer is (the notice is a live region as well).
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!e.target || e.target.id !== "wo-body") return;
    var notice = e.target.querySelector(".notice[data-testid]");
    if (notice) { notice.setAttribute("tabindex", "-1"); notice.focus({ preventScroll: false }); }
  });

  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (e) { bind(e.target || document); });
})();
