// The waiting view of an urgent request (templates/urgent/_waiting.html): keeps the place in line
// and the estimate live from `urgent_status` events and the `join` ack, and, when a doctor takes
// the request, turns the page into the video room without a reload (shows the room's panel and
// loads static/js/room/main.js, which joins again and starts the call). The Socket.IO connection
// is the chat's (static/js/chat.js, `window.telemedSocket`).

import { describeQueue, fill, isTaken } from "./queue.js";

const view = document.getElementById("urgent-waiting");
if (view && window.telemedSocket) startWaiting(view, window.telemedSocket);

function startWaiting(view, socket) {
  const consultationId = Number(view.dataset.consultationId);
  const t = JSON.parse(view.querySelector(".urgent-i18n").textContent);
  const state = view.querySelector(".queue-state");
  const alternative = view.querySelector("form.alternative");
  const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    day: "numeric", month: "long", hour: "2-digit", minute: "2-digit",
  });
  let taken = false;

  function line(cls, text, hidden = false) {
    const p = document.createElement("p");
    p.className = cls;
    p.textContent = text;
    p.hidden = hidden;
    return p;
  }

  function showQueue(queue) {
    if (!queue) return;
    const shown = describeQueue(queue, t);
    const position = line("queue-position", "");
    position.appendChild(document.createElement("strong")).textContent = shown.position;
    state.replaceChildren(
      position,
      line("queue-estimate", shown.estimate),
      line("queue-escalated", shown.escalated, !shown.escalated),
    );
    const alt = shown.alternative;
    alternative.hidden = !alt;
    if (alt) {
      alternative.action = `/consultations/new/slot/${alt.slot_id}`;
      alternative.querySelector("button").textContent = fill(t.alternative, {
        time: timeFormat.format(new Date(alt.start)),
        doctor: alt.doctor.name,
      });
    }
  }

  function showEnded(status) {
    state.replaceChildren(line("queue-ended", t[status] || ""));
    alternative.hidden = true;
    document.querySelectorAll(".cancel-form").forEach((form) => { form.hidden = true; });
  }

  async function enterRoom(doctor) {
    if (taken) return;
    taken = true;
    const room = document.getElementById("room");
    const name = doctor ? doctor.name : "";
    if (name) room.querySelector(".room-peer").textContent = name;
    const status = document.querySelector("dd.status");
    if (status) status.textContent = t.in_progress;
    document.querySelectorAll(".cancel-form").forEach((form) => { form.hidden = true; });
    alternative.hidden = true;
    state.replaceChildren(line("queue-taken", name ? fill(t.taken, { doctor: name }) : t.starting));
    view.querySelector("h2").hidden = true;
    room.hidden = false;
    await import("../room/main.js");
    room.scrollIntoView({ block: "start" });
  }

  function showFinished() {
    state.replaceChildren(line("queue-ended", t.completed));
    const status = document.querySelector("dd.status");
    if (status) status.textContent = t.completed;
    state.scrollIntoView({ block: "nearest" });
  }

  function update(status, queue, doctor) {
    if (isTaken(status)) enterRoom(doctor);
    else if (status === "waiting") showQueue(queue);
    else if (!taken) showEnded(status);
    else if (status === "completed") showFinished(); // the doctor ended the visit during the call
  }

  socket.on("urgent_status", (event) => {
    if (event.consultation_id === consultationId) update(event.status, event.queue, event.doctor);
  });
  document.addEventListener("telemed:joined", (event) => {
    const c = event.detail.consultation;
    if (c && c.id === consultationId) update(c.status, c.queue, null);
  });
}
