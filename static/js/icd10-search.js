// ICD-10 search box (templates/records/_icd10.html): suggestions from GET /api/v1/icd10?q= in an ARIA combobox.
// Up/Down move through the list, Enter chooses, Escape closes. Choosing fills the hidden code and the diagnosis
// text. Never renders server text as HTML.
(function () {
  "use strict";

  function attach(box, options) {
    const onChange = (options && options.onChange) || function () {};
    const t = JSON.parse(box.dataset.i18n);
    const search = box.querySelector(".icd10-search");
    const list = box.querySelector(".icd10-options");
    const status = box.querySelector(".icd10-status");
    const codeInput = box.querySelector(".icd10-code");
    const chosen = box.querySelector(".icd10-chosen");
    const chosenCode = box.querySelector(".icd10-chosen-code");
    const clear = box.querySelector(".icd10-clear");
    const text = box.querySelector(".icd10-text");
    let items = [], active = -1, timer = null, seq = 0;

    function close() {
      list.hidden = true;
      list.replaceChildren();
      items = [];
      active = -1;
      search.setAttribute("aria-expanded", "false");
      search.removeAttribute("aria-activedescendant");
    }

    function highlight(index) {
      active = index;
      Array.from(list.children).forEach(function (li, i) {
        li.setAttribute("aria-selected", i === index ? "true" : "false");
        if (i === index) li.scrollIntoView({ block: "nearest" });
      });
      if (index >= 0) search.setAttribute("aria-activedescendant", list.children[index].id);
      else search.removeAttribute("aria-activedescendant");
    }

    function show(entries) {
      list.replaceChildren();
      items = entries;
      active = -1;
      entries.forEach(function (e, i) {
        const li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.dataset.code = e.code;
        const code = document.createElement("span");
        code.className = "code";
        code.textContent = e.code;
        li.appendChild(code);
        li.appendChild(document.createTextNode(" " + e.title));
        // mousedown, not click: choose before the search box loses focus and closes the list
        li.addEventListener("mousedown", function (ev) { ev.preventDefault(); choose(i); });
        list.appendChild(li);
      });
      list.hidden = entries.length === 0;
      search.setAttribute("aria-expanded", entries.length ? "true" : "false");
      status.textContent = entries.length ? t.found.replace("{n}", entries.length) : t.none;
    }

    function lookup() {
      const q = search.value.trim();
      const mine = ++seq;
      if (!q) { close(); status.textContent = ""; return; }
      const url = "/api/v1/icd10?q=" + encodeURIComponent(q) + "&lang=" + encodeURIComponent(box.dataset.lang || "ru");
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
        .then(function (entries) { if (mine === seq) show(entries); })
        .catch(function () { if (mine === seq) { close(); status.textContent = t.failed; } });
    }

    function setCode(code) {
      codeInput.value = code || "";
      chosenCode.textContent = code || "";
      chosen.hidden = !code;
    }

    function choose(index) {
      const e = items[index];
      if (!e) return;
      setCode(e.code);
      text.value = e.title;
      search.value = "";
      status.textContent = "";
      close();
      search.focus();
      onChange();
    }

    search.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(lookup, 250);
    });
    search.addEventListener("keydown", function (e) {
      const open = !list.hidden && items.length > 0;
      if (e.key === "ArrowDown") {
        e.preventDefault();
        if (open) highlight((active + 1) % items.length); else lookup();
      } else if (e.key === "ArrowUp") {
        e.preventDefault();
        if (open) highlight(active <= 0 ? items.length - 1 : active - 1);
      } else if (e.key === "Enter") {
        e.preventDefault(); // never submit the surrounding form from the search box
        if (open) choose(active >= 0 ? active : 0);
      } else if (e.key === "Escape") {
        if (open) { e.preventDefault(); close(); }
      }
    });
    search.addEventListener("blur", function () { setTimeout(close, 150); });
    clear.addEventListener("click", function () {
      setCode("");
      search.focus();
      onChange();
    });

    return {
      code: function () { return codeInput.value || null; },
      text: function () { return text.value; },
    };
  }

  window.telemedIcd10 = { attach: attach };
})();
