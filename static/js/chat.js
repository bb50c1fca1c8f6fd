// Live chat of one consultation: Socket.IO for messages, typing and read marks; fetch for uploads.
// Never renders user text as HTML. After a reconnect it re-joins with `after` so nothing is lost.
(function () {
  "use strict";
  const root = document.getElementById("chat");
  if (!root || typeof io === "undefined") return;
  const cid = Number(root.dataset.consultationId);
  const me = Number(root.dataset.userId);
  const maxBytes = Number(root.dataset.maxUploadMb) * 1024 * 1024;
  const t = JSON.parse(root.querySelector(".chat-i18n").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const list = root.querySelector(".messages");
  const form = root.querySelector("form.compose");
  const text = form.querySelector("textarea");
  const fileInput = form.querySelector('input[type="file"]');
  const pendingList = form.querySelector(".pending");
  const errorBox = form.querySelector(".compose-error");
  const typingBox = root.querySelector(".typing");
  const statusBox = root.querySelector(".chat-status");
  const rendered = new Map();
  let lastId = 0, othersRead = 0, typingTimer = null, lastTypingSent = 0, pending = [];
  const timeFormat = new Intl.DateTimeFormat(document.documentElement.lang || undefined,
    { day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

  // One connection per page, shared with the video room (static/js/room/main.js).
  const socket = window.telemedSocket || (window.telemedSocket = io({ transports: ["websocket", "polling"] }));

  function setState(state) {
    root.dataset.state = state;
    statusBox.textContent = state === "online" ? t.online : t.offline;
  }

  function showError(message) {
    errorBox.textContent = message || "";
    errorBox.hidden = !message;
  }

  function el(tag, cls, content) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  function sizeLabel(bytes) {
    return bytes > 1048576 ? (bytes / 1048576).toFixed(1) + " MB" : Math.max(1, Math.round(bytes / 1024)) + " KB";
  }

  function attachmentNode(a) {
    const url = "/api/v1/attachments/" + a.id;
    const li = el("li", "attachment");
    const link = el("a");
    link.href = url;
    link.setAttribute("download", a.filename);
    if (a.content_type === "image/png" || a.content_type === "image/jpeg") {
      const img = el("img", "preview");
      img.src = url;
      img.alt = a.filename;
      img.loading = "lazy";
      link.appendChild(img);
    }
    link.appendChild(el("span", "filename", a.filename + " · " + sizeLabel(a.size)));
    li.appendChild(link);
    return li;
  }

  function render(m) {
    if (rendered.has(m.id)) return;
    const mine = m.author.id === me;
    const li = el("li", "message" + (mine ? " mine" : ""));
    li.dataset.id = m.id;
    li.appendChild(el("span", "author", mine ? t.you : m.author.name));
    if (m.text) li.appendChild(el("p", "text", m.text));
    if (m.attachments.length) {
      const files = el("ul", "attachments");
      m.attachments.forEach(function (a) { files.appendChild(attachmentNode(a)); });
      li.appendChild(files);
    }
    const meta = el("span", "meta muted", timeFormat.format(new Date(m.created_at)));
    if (mine) meta.appendChild(el("span", "receipt"));
    li.appendChild(meta);
    // keep id order even if a catch-up and a live event interleave
    const after = Array.from(list.children).find(function (n) { return Number(n.dataset.id) > m.id; });
    list.insertBefore(li, after || null);
    rendered.set(m.id, li);
    lastId = Math.max(lastId, m.id);
    updateReceipts();
    li.scrollIntoView({ block: "nearest" });
  }

  function updateReceipts() {
    rendered.forEach(function (li, id) {
      const receipt = li.querySelector(".receipt");
      if (receipt) receipt.textContent = " · " + (id <= othersRead ? t.read : t.sent);
    });
  }

  function markRead() {
    if (document.visibilityState !== "visible" || !lastId) return;
    const last = rendered.get(lastId);
    if (last && !last.classList.contains("mine")) {
      socket.emit("read", { consultation_id: cid, up_to_id: lastId });
    }
  }

  function join() {
    const data = { consultation_id: cid };
    if (lastId) data.after = lastId;
    socket.emit("join", data, function (ack) {
      if (!ack || !ack.ok) { showError(ack && ack.error ? ack.error.message : t.send_failed); return; }
      setState("online");
      ack.messages.forEach(render);
      Object.keys(ack.read_marks).forEach(function (uid) {
        if (Number(uid) !== me) othersRead = Math.max(othersRead, ack.read_marks[uid]);
      });
      updateReceipts();
      setOpen(ack.chat_open);
      markRead();
      document.dispatchEvent(new CustomEvent("telemed:joined", { detail: ack }));
    });
  }
  window.telemedChat = { rejoin: join };

  function setOpen(open) {
    form.hidden = !open;
    root.querySelector(".chat-closed").hidden = open;
  }

  socket.on("connect", join);
  socket.on("disconnect", function () { setState("offline"); });
  socket.on("message", function (m) { if (m.consultation_id === cid) { render(m); markRead(); } });
  socket.on("read", function (e) {
    if (e.consultation_id === cid && e.user_id !== me) { othersRead = Math.max(othersRead, e.up_to_id); updateReceipts(); }
  });
  socket.on("typing", function (e) {
    if (e.consultation_id !== cid || e.user.id === me) return;
    typingBox.textContent = t.typing.replace("{name}", e.user.name);
    typingBox.hidden = !e.typing;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(function () { typingBox.hidden = true; }, 4000);
  });
  document.addEventListener("visibilitychange", markRead);

  text.addEventListener("input", function () {
    const now = Date.now();
    if (now - lastTypingSent > 2000) { lastTypingSent = now; socket.emit("typing", { consultation_id: cid }); }
  });
  text.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); form.requestSubmit(); }
  });

  function renderPending() {
    pendingList.replaceChildren();
    pending.forEach(function (p) {
      const li = el("li", "chip" + (p.id ? "" : " uploading"), p.name + (p.id ? "" : " · " + p.progress + "%"));
      pendingList.appendChild(li);
    });
  }

  function upload(file) {
    if (file.size > maxBytes) { showError(t.too_large.replace("{mb}", root.dataset.maxUploadMb)); return; }
    const item = { name: file.name, progress: 0, id: null };
    pending.push(item);
    renderPending();
    const body = new FormData();
    body.append("file", file);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/v1/consultations/" + cid + "/attachments");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) { item.progress = Math.round(100 * e.loaded / e.total); renderPending(); }
    };
    xhr.onload = function () {
      let reply = {};
      try { reply = JSON.parse(xhr.responseText); } catch (err) { reply = {}; }
      if (xhr.status === 201) { item.id = reply.id; renderPending(); return; }
      pending = pending.filter(function (p) { return p !== item; });
      renderPending();
      showError(t.upload_failed + ": " + file.name + (reply.error ? " — " + reply.error.message : ""));
    };
    xhr.onerror = function () {
      pending = pending.filter(function (p) { return p !== item; });
      renderPending();
      showError(t.upload_failed + ": " + file.name);
    };
    xhr.send(body);
  }

  fileInput.addEventListener("change", function () {
    showError("");
    Array.from(fileInput.files).forEach(upload);
    fileInput.value = "";
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    const ready = pending.filter(function (p) { return p.id; });
    const body = text.value.trim();
    if (!body && !ready.length) return;
    if (pending.some(function (p) { return !p.id; })) return; // wait for uploads to finish
    showError("");
    socket.timeout(10000).emit("message", {
      consultation_id: cid, text: body, attachment_ids: ready.map(function (p) { return p.id; }),
    }, function (err, ack) {
      if (err || !ack || !ack.ok) { showError(ack && ack.error ? ack.error.message : t.send_failed); return; }
      text.value = "";
      pending = [];
      renderPending();
    });
  });
})();
