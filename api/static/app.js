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
        markFields(form, data.errors || {});
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

// Mark the fields the scorer could not use, as the page does after a preview without the script: the
// preview says "complete the fields marked with an error", so the marks must be there.
function markFields(form, errors) {
  Array.prototype.forEach.call(form.elements, function (el) {
    if (!el.name || el.name.indexOf("assessment.") !== 0) return;
    const field = el.closest(".field");
    if (!field) return;
    const id = el.name.replace(/\./g, "-") + "-error";
    let note = document.getElementById(id);
    const message = errors[el.name];
    if (message) {
      if (!note) {
        note = document.createElement("p");
        note.className = "error";
        note.id = id;
        const label = field.querySelector("label");
        (label || el).insertAdjacentElement("afterend", note);
      }
      note.textContent = "";
      const hidden = document.createElement("span");
      hidden.className = "visually-hidden";
      hidden.textContent = "Error: ";
      note.appendChild(hidden);
      note.appendChild(document.createTextNode(message));
      field.classList.add("has-error");
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("aria-describedby", id);
    } else {
      if (note) note.remove();
      field.classList.remove("has-error");
      el.removeAttribute("aria-invalid");
      if (el.getAttribute("aria-describedby") === id) el.removeAttribute("aria-describedby");
    }
  });
}

// The tasking list: an action posts in the background and only its hub's part of the list is redrawn,
// with the confirmation in it. The form's own `next` (the whole page) is swapped for the hub's part;
// anything unexpected falls back to an ordinary submit, so the action works as without the script.
(function () {
  const MARKINGS = ["OFFICIAL", "OFFICIAL-SENSITIVE"];
  function raiseMarking(marking) {
    const banners = document.querySelectorAll(".marking");
    if (!banners.length || MARKINGS.indexOf(marking) < 0) return;
    if (MARKINGS.indexOf(marking) <= MARKINGS.indexOf(banners[0].textContent.trim())) return;
    banners.forEach(function (b) {
      b.textContent = marking;
      b.className = "marking marking-" + marking.toLowerCase();
    });
  }
  function failed(section, form, text) {
    let note = section.querySelector("[data-failure]");
    if (!note) {
      note = document.createElement("p");
      note.className = "notice notice-error";
      note.setAttribute("role", "alert");
      note.setAttribute("data-failure", "");
      note.tabIndex = -1;
      section.querySelector("h2").insertAdjacentElement("afterend", note);
    }
    note.textContent = "Nothing was saved: " + text + " ";
    const link = document.createElement("a");
    link.href = form.action.replace(/\/actions\/[^/]+$/, "");
    link.textContent = "Open the case";
    note.appendChild(link);
    note.focus();
  }
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.part || !window.fetch) return;
    const section = form.closest("section.hub-section");
    if (!section) return;
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = true; button.dataset.label = button.textContent; button.textContent = "Saving…"; }
    const body = new URLSearchParams(new FormData(form));
    body.set("next", form.dataset.part);
    fetch(form.action, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        return response.text().then(function (html) { return { response: response, html: html }; });
      })
      .then(function (got) {
        const r = got.response;
        if (r.ok && r.url.indexOf("/tasking/hubs/") >= 0) {
          const holder = document.createElement("div");
          holder.innerHTML = got.html;
          const fresh = holder.querySelector("section.hub-section");
          if (!fresh) { window.location.assign(form.elements["next"].value); return; }  // saved: show it
          section.replaceWith(fresh);
          raiseMarking(r.headers.get("X-Protective-Marking") || "");
          const notice = fresh.querySelector("[data-confirmation]");
          if (notice) notice.focus();
          return;
        }
        // Refused (422) or changed by someone else (409): the answer is the case page; say why here.
        const page = new DOMParser().parseFromString(got.html, "text/html");
        const why = page.querySelector(".notice-error, .notice-conflict, main p");
        if (button) { button.disabled = false; button.textContent = button.dataset.label || button.textContent; }
        failed(section, form, why ? why.textContent.trim() : "the centre could not record it (" + r.status + ").");
      })
      .catch(function () { form.submit(); });  // no answer at all: post the ordinary way
  });
})();

document.addEventListener("click", function (event) {
  const el = event.target;
  if (el instanceof HTMLElement && el.hasAttribute("data-print")) window.print();
});
