// Progressive enhancement only: every form works without this file.
"use strict";
document.documentElement.classList.add("js");

// Live MoRiLE score preview: post the assessment form to the server's scorer (nothing is stored) and
// show the breakdown it renders, as the analyst types.
(function () {
  const form = document.getElementById("assess-form");
  const target = document.getElementById("score-preview");
  if (!form || !target) return;
  const url = form.dataset.preview;
  let timer = null;
  let sequence = 0;
  function refresh() {
    const mine = ++sequence;
    const body = new URLSearchParams(new FormData(form));
    fetch(url, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRF-Token": form.elements["csrf_token"].value, "Accept": "application/json" },
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (mine !== sequence || typeof data.html !== "string") return;  // a later request answers
        target.innerHTML = data.html;
        target.dataset.band = data.band || "";
      })
      .catch(function () { /* the preview button still works */ });
  }
  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(refresh, 200);
  }
  form.addEventListener("change", schedule);
  form.addEventListener("input", schedule);
})();

document.addEventListener("click", function (event) {
  const el = event.target;
  if (el instanceof HTMLElement && el.hasAttribute("data-print")) window.print();
});
