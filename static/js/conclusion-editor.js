// The doctor's conclusion editor (templates/records/editor.html), over the JSON API:
// the draft is saved ~1 s after the doctor stops typing (PUT .../conclusion), signed with the password
// and a current authenticator code (POST .../conclusion/sign), then read-only with addenda (POST .../conclusion/addenda).
// State for people and tests: #conclusion-editor[data-state] = draft | signed | closed,
// [data-save-state] = idle | pending | saving | saved | error. Never renders server text as HTML.
(function () {
  "use strict";
  const root = document.getElementById("conclusion-editor");
  if (!root) return;
  const t = JSON.parse(document.querySelector(".editor-i18n").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const base = "/api/v1/consultations/" + root.dataset.consultationId + "/conclusion";
  const form = root.querySelector("form.conclusion-form");
  const fieldset = form.querySelector("fieldset");
  const statusBox = root.querySelector(".save-status");
  const signArea = root.querySelector(".sign-area");
  const signOpen = signArea.querySelector(".sign-open");
  const signForm = signArea.querySelector(".sign-form");
  const signError = signForm.querySelector(".sign-error");
  const signedArea = root.querySelector(".signed-area");
  const addendaCard = document.querySelector(".addenda-card");
  const addendaList = addendaCard.querySelector(".addenda");
  const addendumForm = addendaCard.querySelector(".addendum-form");
  const addendumStatus = addendumForm.querySelector(".addendum-status");
  const lang = document.documentElement.lang || undefined;
  const clock = new Intl.DateTimeFormat(lang, { hour: "2-digit", minute: "2-digit" });
  const longTime = new Intl.DateTimeFormat(lang, { day: "numeric", month: "long", year: "numeric",
                                                   hour: "2-digit", minute: "2-digit" });
  const icd = window.telemedIcd10.attach(form.querySelector(".icd10"), { onChange: changed });
  const referrals = attachReferrals(form.querySelector(".referrals-editor"));
  let timer = null, inFlight = null, dirty = false;

  function field(name) { return form.elements.namedItem(name).value; }

  function payload() {
    return {
      complaints: field("complaints"), anamnesis: field("anamnesis"), objective: field("objective"),
      diagnosis: { icd10: icd.code(), text: icd.text() },
      recommendations: field("recommendations"), follow_up: field("follow_up"),
      referrals: referrals.items(),
    };
  }

  function send(method, url, body) {
    return fetch(url, {
      method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        return { ok: r.ok, status: r.status, data: data };
      });
    }, function () { return { ok: false, status: 0, data: {} }; });
  }

  function errorText(res) {
    if (res.status === 0) return t.offline;
    const err = (res.data && res.data.error) || {};
    if (err.code === "validation_error" && err.details && err.details.field === "diagnosis") return t.need_diagnosis;
    const where = err.details && /^referrals\[(\d+)\]/.exec(err.details.field || "");
    if (err.code === "validation_error" && where) return t.referral_invalid.replace("{n}", String(Number(where[1]) + 1));
    return t.errors[err.code] || t.errors.other;
  }

  function setSave(state, message) {
    root.dataset.saveState = state;
    statusBox.textContent = message;
    statusBox.classList.toggle("error", state === "error");
  }

  function changed() {
    if (root.dataset.state !== "draft") return;
    dirty = true;
    setSave("pending", t.pending);
    clearTimeout(timer);
    timer = setTimeout(save, 1000);
  }

  // Resolves true once everything typed so far is saved; one request at a time, newest content wins.
  function save() {
    clearTimeout(timer);
    timer = null;
    if (inFlight) return inFlight.then(function () { return dirty ? save() : root.dataset.saveState === "saved"; });
    if (!dirty) return Promise.resolve(root.dataset.saveState !== "error");
    dirty = false;
    setSave("saving", t.saving);
    inFlight = send("PUT", base, payload()).then(function (res) {
      inFlight = null;
      if (res.ok) {
        if (dirty) setSave("pending", t.pending);
        else setSave("saved", t.saved.replace("{time}", clock.format(new Date())));
        return true;
      }
      if (res.data.error && res.data.error.code === "conclusion_signed") { // signed elsewhere meanwhile
        dirty = false;
        location.reload();
        return false;
      }
      dirty = true; // keep the content for the next attempt
      setSave("error", t.save_failed.replace("{reason}", errorText(res)));
      return false;
    });
    return inFlight;
  }

  form.addEventListener("input", function (e) {
    if (e.target.classList.contains("icd10-search")) return; // typing a search is not an edit
    if (e.target.classList.contains("referral-search")) return; // neither is a catalogue search
    changed();
  });
  form.addEventListener("change", function (e) {
    if (e.target.classList.contains("referral-search")) changed(); // a code chosen, or typed and left
  });

  // --- structured referrals: rows of kind, test (searched in GET /api/v1/referral-catalogue), specialty, note ---
  function attachReferrals(box) {
    const list = box.querySelector(".referral-rows");
    const template = box.querySelector("#referral-row-template");
    const datalist = box.querySelector("#referral-services");
    const titles = {}; // code -> title, from the searches so far
    let searchTimer = null, searchSeq = 0;

    function showFor(row) {
      const kind = row.querySelector("[name=referral_kind]").value;
      row.querySelector(".referral-code").hidden = kind !== "test";
      row.querySelector(".referral-specialty").hidden = kind === "test";
    }

    function search(input) {
      const seq = ++searchSeq;
      const url = "/api/v1/referral-catalogue?limit=20&lang=" + (lang === "en" ? "en" : "ru") +
        "&q=" + encodeURIComponent(input.value.trim());
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { items: [] }; }, function () { return { items: [] }; })
        .then(function (data) {
          if (seq !== searchSeq) return; // a newer search is under way
          datalist.replaceChildren();
          data.items.forEach(function (item) {
            titles[item.code] = item.title;
            const option = document.createElement("option");
            option.value = item.code;
            option.label = item.code + " " + item.title;
            option.textContent = item.title;
            datalist.appendChild(option);
          });
          titleFor(input);
        });
    }

    function titleFor(input) {
      const code = input.value.trim().toUpperCase();
      input.closest(".referral-row").querySelector(".referral-title").textContent = titles[code] || "";
    }

    box.addEventListener("input", function (e) {
      if (!e.target.classList.contains("referral-search")) return;
      titleFor(e.target);
      clearTimeout(searchTimer);
      searchTimer = setTimeout(function () { search(e.target); }, 200);
    });
    box.addEventListener("focusin", function (e) {
      if (e.target.classList.contains("referral-search") && !datalist.children.length) search(e.target);
    });
    box.addEventListener("change", function (e) {
      if (e.target.name === "referral_kind") showFor(e.target.closest(".referral-row"));
    });
    box.addEventListener("click", function (e) {
      if (e.target.classList.contains("remove-referral")) {
        e.target.closest(".referral-row").remove();
        changed();
      } else if (e.target.classList.contains("add-referral")) {
        list.appendChild(template.content.cloneNode(true));
        const row = list.lastElementChild;
        showFor(row);
        row.querySelector(".referral-search").focus();
      }
    });

    return {
      // The rows as the API takes them; a test row without a code is still sent (the server says what is wrong).
      items: function () {
        return Array.from(list.querySelectorAll(".referral-row")).map(function (row) {
          const kind = row.querySelector("[name=referral_kind]").value;
          const item = { kind: kind };
          const note = row.querySelector("[name=referral_note]").value.trim();
          const specialty = row.querySelector("[name=referral_specialty]").value;
          if (kind === "test") item.code = row.querySelector("[name=referral_code]").value.trim().toUpperCase();
          else if (specialty) item.specialty = specialty;
          if (note) item.note = note;
          return item;
        }).filter(function (item) { return item.code !== "" || item.note; }); // an untouched new test row
      },
    };
  }
  form.addEventListener("submit", function (e) { e.preventDefault(); save(); });
  window.addEventListener("beforeunload", function (e) {
    if (dirty || inFlight) { save(); e.preventDefault(); e.returnValue = ""; }
  });

  // --- signing ---
  function showSignError(message) {
    signError.textContent = message || "";
    signError.hidden = !message;
  }

  signOpen.addEventListener("click", function () {
    signForm.hidden = false;
    signOpen.hidden = true;
    signOpen.setAttribute("aria-expanded", "true");
    signForm.elements.namedItem("password").focus();
  });
  signForm.querySelector(".sign-cancel").addEventListener("click", function () {
    signForm.hidden = true;
    signOpen.hidden = false;
    signOpen.setAttribute("aria-expanded", "false");
    signForm.reset();
    showSignError("");
    signOpen.focus();
  });

  signForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const password = signForm.elements.namedItem("password");
    const code = signForm.elements.namedItem("otp");
    if (!password.value) { showSignError(t.need_password); password.focus(); return; }
    if (!code.value.trim()) { showSignError(t.need_otp); code.focus(); return; }
    if (!icd.text().trim()) { showSignError(t.need_diagnosis); return; }
    const button = signForm.querySelector('button[type="submit"]');
    const label = button.textContent;
    function done() { button.disabled = false; button.textContent = label; }
    button.disabled = true;
    button.textContent = t.signing;
    showSignError("");
    dirty = dirty || root.dataset.saveState !== "saved";
    save().then(function (saved) {
      if (!saved) { done(); showSignError(statusBox.textContent); return null; }
      return send("POST", base + "/sign", { password: password.value, otp: code.value.trim() });
    }).then(function (res) {
      if (!res) return;
      done();
      password.value = "";
      code.value = "";
      if (!res.ok) { showSignError(errorText(res)); password.focus(); return; }
      becomeSigned(res.data);
    });
  });

  function becomeSigned(data) {
    root.dataset.state = "signed";
    fieldset.disabled = true;
    signArea.hidden = true;
    setSave("saved", "");
    signedArea.querySelector(".signature").textContent = t.signed
      .replace("{name}", data.signed_by.name).replace("{time}", longTime.format(new Date(data.signed_at)));
    signedArea.hidden = false;
    addendaCard.hidden = false;
    renderAddenda(data.addenda);
    signedArea.querySelector(".signature").focus();
  }

  // --- addenda ---
  function el(tag, cls, content) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function renderAddenda(addenda) {
    addendaList.replaceChildren();
    addenda.forEach(function (a) {
      const li = el("li", "addendum");
      li.appendChild(el("p", "text", a.text));
      li.appendChild(el("p", "muted small", t.reason_label + ": " + a.reason));
      li.appendChild(el("p", "muted small", a.author.name + ", " + longTime.format(new Date(a.created_at))));
      addendaList.appendChild(li);
    });
    addendaList.dataset.count = String(addenda.length);
  }

  addendumForm.addEventListener("submit", function (e) {
    e.preventDefault();
    const text = addendumForm.elements.namedItem("text").value.trim();
    const reason = addendumForm.elements.namedItem("reason").value.trim();
    if (!text || !reason) { addendumStatus.textContent = t.addendum_needs; return; }
    const button = addendumForm.querySelector('button[type="submit"]');
    button.disabled = true;
    send("POST", base + "/addenda", { text: text, reason: reason }).then(function (res) {
      button.disabled = false;
      if (!res.ok) { addendumStatus.textContent = errorText(res); return; }
      renderAddenda(res.data.addenda);
      addendumForm.reset();
      addendumStatus.textContent = t.addendum_added;
    });
  });

  signedArea.querySelector(".signature").tabIndex = -1;
})();
