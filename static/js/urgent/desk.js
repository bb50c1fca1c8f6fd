// The duty desk of therapists and pediatricians (templates/urgent/desk.html): the duty switch
// (PUT /api/v1/duty), the live queue (GET /api/v1/urgent/queue, then `urgent_queue` events),
// waiting times that tick, the escalation flag, «Принять» (POST /api/v1/urgent/{id}/claim, then
// the consultation's room), and a beep plus a visual alert for new and escalated requests.
// The page's Socket.IO connection also keeps the doctor's duty alive.

import { applyQueueEvent, fill, formatWaited, sortQueue } from "./queue.js";

const root = document.getElementById("desk");
if (root && typeof io !== "undefined") startDesk(root);

function startDesk(root) {
  const t = JSON.parse(root.querySelector(".desk-i18n").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const dutySwitch = root.querySelector(".duty-switch");
  const dutyStatus = root.querySelector(".duty-status");
  const alertBox = root.querySelector(".desk-alert");
  const errorBox = root.querySelector(".desk-error");
  const list = root.querySelector(".urgent-queue");
  const empty = root.querySelector(".queue-empty");
  const count = root.querySelector(".queue-count");
  const badge = root.querySelector(".new-count");
  const baseTitle = document.title;
  let items = [];
  let unseen = 0;
  let audio = null;
  let switching = false; // a PUT of the duty is under way: its answer, not an older read, wins

  async function call(method, path, body) {
    const response = await fetch(path, {
      method,
      credentials: "same-origin",
      headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    return { ok: response.ok, status: response.status, data };
  }

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function render() {
    list.replaceChildren(...items.map(itemNode));
    empty.hidden = items.length > 0;
    count.textContent = items.length ? fill(t.count, { count: items.length }) : "";
    tick();
  }

  function itemNode(item) {
    const li = el("li", "row urgent-item" + (item.escalation_level >= 1 ? " escalated" : ""));
    li.dataset.id = item.id;
    const who = el("div", "who");
    who.appendChild(el("strong", "patient", item.patient.name));
    who.appendChild(el("span", "age muted", " · " + fill(t.age, { age: item.patient.age })));
    if (item.escalation_level >= 1) who.appendChild(el("span", "badge flag", t.escalated));
    const about = el("div", "about");
    about.appendChild(el("span", "reason", item.reason || t.no_reason));
    const waited = el("span", "waited muted");
    waited.dataset.since = item.waiting_since;
    about.appendChild(waited);
    const take = el("button", "claim primary", t.take);
    take.type = "button";
    take.setAttribute("aria-label", `${t.take}: ${item.patient.name}`);
    take.addEventListener("click", () => claim(item.id, take));
    li.append(who, about, take);
    return li;
  }

  function tick() {
    const now = Date.now();
    list.querySelectorAll(".waited").forEach((node) => {
      const seconds = (now - Date.parse(node.dataset.since)) / 1000;
      node.textContent = " · " + fill(t.waiting, { time: formatWaited(seconds) });
    });
  }

  function beep() {
    try {
      audio = audio || new AudioContext();
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.2, audio.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + 0.4);
      osc.connect(gain).connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + 0.4);
    } catch (err) {
      console.warn("beep", err); // no sound: the visual alert remains
    }
  }

  function alertAbout(event) {
    unseen += 1;
    badge.textContent = String(unseen);
    badge.hidden = false;
    document.title = `(${unseen}) ${baseTitle}`;
    const text = event.action === "escalated" ? t.escalated_alert : t.added;
    alertBox.textContent = fill(text, { name: event.request.patient.name });
    alertBox.hidden = false;
    const node = list.querySelector(`[data-id="${event.request.id}"]`);
    if (node) node.classList.add("fresh");
    beep();
  }

  function seen() {
    if (document.visibilityState !== "visible") return;
    unseen = 0;
    badge.hidden = true;
    document.title = baseTitle;
  }

  async function loadQueue() {
    const r = await call("GET", "/api/v1/urgent/queue");
    if (r.ok) {
      items = sortQueue(r.data);
      render();
    }
  }

  function showDuty(on) {
    dutySwitch.checked = on;
    dutyStatus.textContent = on ? t.on : t.off;
  }

  async function loadDuty() {
    const r = await call("GET", "/api/v1/duty");
    if (r.ok && !switching) showDuty(r.data.on_duty);
  }

  async function claim(id, button) {
    button.disabled = true;
    showError("");
    let r;
    try {
      r = await call("POST", `/api/v1/urgent/${id}/claim`);
    } catch {
      r = { ok: false, status: 0, data: null };
    }
    if (r.ok) {
      window.location.assign(`/consultations/${id}/room`);
      return;
    }
    const code = r.data && r.data.error ? r.data.error.code : null;
    if (code === "already_claimed" || code === "consultation_cancelled" || r.status === 404) {
      items = items.filter((item) => item.id !== id);
      render();
    } else {
      button.disabled = false;
    }
    showError(code === "already_claimed" ? t.already_claimed : r.data && r.data.error ? r.data.error.message : t.failed);
  }

  function unlockAudio() {
    // browsers let a page play sound once the user has interacted with it: make it in a click
    try {
      audio = audio || new AudioContext();
      if (audio.state === "suspended") audio.resume().catch(() => {});
    } catch {
      audio = null;
    }
  }

  dutySwitch.addEventListener("change", async () => {
    const wanted = dutySwitch.checked;
    if (wanted) unlockAudio();
    dutySwitch.disabled = true;
    switching = true;
    showError("");
    try {
      const r = await call("PUT", "/api/v1/duty", { on_duty: wanted });
      if (r.ok) showDuty(r.data.on_duty);
      else {
        showDuty(!wanted);
        showError(r.data && r.data.error ? r.data.error.message : t.failed);
      }
    } catch {
      showDuty(!wanted);
      showError(t.failed);
    } finally {
      switching = false;
      dutySwitch.disabled = false;
    }
    loadQueue();
  });

  const socket = io({ transports: ["websocket", "polling"] });
  socket.on("connect", async () => {
    await Promise.all([loadDuty(), loadQueue()]); // what was missed while disconnected
    root.dataset.live = "true";
  });
  socket.on("disconnect", () => {
    root.dataset.live = "false";
  });
  socket.on("urgent_queue", (event) => {
    const next = applyQueueEvent(items, event);
    items = next.items;
    render();
    if (next.alert) alertAbout(event);
  });
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("visibilitychange", seen);
  window.addEventListener("focus", seen);
  setInterval(tick, 1000);
  render();
}
