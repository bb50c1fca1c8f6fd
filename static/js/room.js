// Video room of one consultation: WebRTC peer to peer, signaling over the chat's Socket.IO connection.
//
// Negotiation follows the "perfect negotiation" pattern: the member's page is polite, the doctor's
// impolite, and only the doctor's page makes the first offer. Whoever (re)enters while the other is
// present sends `restart` first, so the other side drops any stale peer connection and both
// negotiate afresh (page reloads, rejoining after a hang-up).
// Every peer connection has a random id: signals carry the sender's (`pc`) and, once known, the
// receiver's (`to_pc`), so a signal meant for a peer connection that has since been replaced (an
// answer or a candidate still in flight when a `restart` crossed it) is dropped, not applied to
// the new one.
// A network drop is healed with ICE restarts, retried until the call is connected again, without reloading.
(function () {
  "use strict";
  const root = document.getElementById("room");
  if (!root || !window.telemedSocket) return;
  const socket = window.telemedSocket;
  const cid = Number(root.dataset.consultationId);
  const me = Number(root.dataset.userId);
  const polite = root.dataset.role !== "doctor";
  const t = JSON.parse(root.querySelector(".room-i18n").textContent);
  const localVideo = root.querySelector("video.local");
  const remoteVideo = root.querySelector("video.remote");
  const statusBox = root.querySelector(".room-status");
  const helpBox = root.querySelector(".room-help");
  const qualityBox = root.querySelector(".quality");
  const buttons = {
    mic: root.querySelector("button.mic"), cam: root.querySelector("button.cam"),
    switchCam: root.querySelector("button.switch-camera"), hangup: root.querySelector("button.hangup"),
    rejoin: root.querySelector("button.rejoin"),
  };
  let pc = null, pcId = null, remotePcId = null, localStream = null, iceServers = [], icePolicy = "all";
  let makingOffer = false, ignoreOffer = false, ready = false, recoveryTimer = null, lastOfferAt = 0;
  let roomOpen = false, peerPresent = false, hungUp = false, mediaTried = false;
  let queue = Promise.resolve(), videoDevices = [], cameraIndex = 0, statsTimer = null, earlyCandidates = [];

  function setState(state, text) {
    root.dataset.callState = state;
    statusBox.textContent = text;
  }

  // Signals go out one at a time, each after the server's ack of the previous one, so a `restart`
  // and the offer right after it are relayed in that order even across a reconnect or several
  // server processes (one connection's events are handled in order). They are sent only while joined (the
  // server refuses signals from a connection that has not joined): ones produced during a
  // signaling outage wait in `outbox` and go out right after the rejoin.
  let joined = false, sending = false, outbox = [];
  function pump() {
    if (sending || !joined || !socket.connected || !outbox.length) return;
    sending = true;
    socket.timeout(5000).emit("signal", outbox.shift(), function () { sending = false; pump(); });
  }
  function signal(data) {
    outbox.push(Object.assign({ consultation_id: cid }, data));
    pump();
  }
  // A signal of peer connection `conn`: tagged with its id and the peer's, dropped if `conn` is stale.
  function signalFrom(conn, data) {
    if (conn !== pc) return;
    signal(Object.assign({ pc: pcId }, remotePcId ? { to_pc: remotePcId } : {}, data));
  }
  socket.on("disconnect", function () { joined = false; });

  function showHelp(text) {
    helpBox.textContent = text || "";
    helpBox.hidden = !text;
  }

  async function getMedia() {
    mediaTried = true;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) { showHelp(t.no_webrtc); return; }
    try {
      localStream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { facingMode: "user" } });
      localVideo.srcObject = localStream;
      videoDevices = (await navigator.mediaDevices.enumerateDevices()).filter(function (d) {
        return d.kind === "videoinput";
      });
      buttons.switchCam.hidden = videoDevices.length < 2;
      showHelp("");
    } catch (err) {
      localStream = null;
      showHelp(err && err.name === "NotAllowedError" ? t.permission_denied
        : err && err.name === "NotFoundError" ? t.no_devices : t.media_error);
    }
  }

  async function loadIceServers() {
    const r = await fetch("/api/v1/consultations/" + cid + "/ice-servers", { credentials: "same-origin" });
    if (!r.ok) return;
    const config = await r.json();
    iceServers = config.iceServers;
    icePolicy = config.iceTransportPolicy || "all";  // "relay": only TURN, the peer never sees our address
  }

  function closePc() {
    if (pc) { pc.ontrack = pc.onicecandidate = pc.onnegotiationneeded = pc.onconnectionstatechange = null; pc.close(); }
    pc = pcId = remotePcId = null;
    remoteVideo.srcObject = null;
    clearInterval(statsTimer);
    clearTimeout(recoveryTimer);
  }

  // ICE restarts while `conn` is disconnected or failed. The doctor's page makes them: the first
  // 3 s after the drop (it may heal by itself), then again every few seconds, since one made while
  // the network (or the TURN server) is still away gathers no candidates and cannot succeed. The
  // member's page restarts only as a fallback, when no offer has come for a while: when both offer
  // at once, the member's page rolls its offer back, and Chromium then stops rendering the remote
  // video although it is still received and decoded.
  function recover(conn, delay) {
    clearTimeout(recoveryTimer);
    recoveryTimer = setTimeout(function () {
      if (conn !== pc || conn.connectionState === "connected") return;
      if (!polite || Date.now() - lastOfferAt > 10000) conn.restartIce();
      recover(conn, polite ? 12000 : Math.min(Math.max(delay, 1000) * 2, 8000));
    }, delay);
  }

  function newPc() {
    closePc();
    earlyCandidates = [];
    const conn = pc = new RTCPeerConnection({ iceServers: iceServers, iceTransportPolicy: icePolicy });
    pcId = Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
    if (localStream) {
      localStream.getTracks().forEach(function (track) { conn.addTrack(track, localStream); });
    } else {
      conn.addTransceiver("audio", { direction: "recvonly" });
      conn.addTransceiver("video", { direction: "recvonly" });
    }
    conn.ontrack = function (e) {
      if (remoteVideo.srcObject !== e.streams[0]) remoteVideo.srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    conn.onicecandidate = function (e) {
      signalFrom(conn, { type: "candidate", candidate: e.candidate ? e.candidate.toJSON() : null });
    };
    conn.onnegotiationneeded = async function () {
      // The doctor's page makes the first offer; the member's page offers only to renegotiate
      // (an ICE restart) on an established connection. This avoids glare on every (re)join.
      if (polite && !conn.remoteDescription) return;
      try {
        makingOffer = true;
        await conn.setLocalDescription();
        signalFrom(conn, { type: conn.localDescription.type, sdp: conn.localDescription.sdp });
      } catch (err) { console.warn("negotiation failed", err); } finally { makingOffer = false; }
    };
    conn.onconnectionstatechange = function () {
      const state = conn.connectionState;
      if (state === "connected") { clearTimeout(recoveryTimer); setState("connected", t.connected); showHelp(""); }
      else if (state === "connecting" || state === "new") setState("connecting", t.connecting);
      else if (state === "disconnected" || state === "failed") {
        setState("reconnecting", t.reconnecting);
        recover(conn, polite ? 12000 : state === "failed" ? 0 : 3000);
      }
    };
    statsTimer = setInterval(updateQuality, 2000);
    setState("connecting", t.connecting);
  }

  async function onSignal(s) {
    if (s.consultation_id !== cid || hungUp) return;
    if (s.type === "bye") { closePc(); setState("peer-left", t.peer_hung_up); return; }
    // Before enter() is done (media, ICE servers) nothing is negotiated: it sends `restart` itself.
    if (!ready) return;
    if (s.type === "restart") { if (roomOpen) newPc(); return; }
    if (s.to_pc && s.to_pc !== pcId) return;  // meant for a peer connection this page has replaced
    // an offer from a new peer connection of the other side (its `restart` went missing): start afresh too
    if (!pc || (s.type === "offer" && s.pc && remotePcId && s.pc !== remotePcId)) newPc();
    const conn = pc;
    if (s.type === "offer" || s.type === "answer") {
      if (s.type === "offer") lastOfferAt = Date.now();
      const collision = s.type === "offer" && (makingOffer || conn.signalingState !== "stable");
      ignoreOffer = !polite && collision;
      if (ignoreOffer) return;
      await conn.setRemoteDescription({ type: s.type, sdp: s.sdp });
      remotePcId = s.pc || null;
      // candidates that came before the description (e.g. from an offer rolled back on collision)
      for (const early of earlyCandidates.splice(0)) {
        if (early.pc && early.pc !== remotePcId) continue;
        try { await conn.addIceCandidate(early.candidate || undefined); } catch (err) { /* a replaced description's */ }
      }
      if (s.type === "offer") {
        await conn.setLocalDescription();
        signalFrom(conn, { type: "answer", sdp: conn.localDescription.sdp });
      }
    } else if (s.type === "candidate") {
      if (s.pc && remotePcId && s.pc !== remotePcId) return;  // from a peer connection the other side replaced
      if (!conn.remoteDescription) { earlyCandidates.push(s); return; }
      try { await conn.addIceCandidate(s.candidate || undefined); } catch (err) { if (!ignoreOffer) console.warn(err); }
    }
  }

  socket.on("signal", function (s) {
    queue = queue.then(function () { return onSignal(s); }).catch(function (err) { console.warn("signal", err); });
  });

  socket.on("presence", function (p) {
    if (p.consultation_id !== cid) return;
    const others = p.participants.filter(function (x) { return x.id !== me; });
    peerPresent = others.length > 0;
    if (!roomOpen || hungUp) return;
    if (!peerPresent) {
      if (!pc || pc.connectionState !== "connected") setState("waiting", t.waiting);
      else statusBox.textContent = t.peer_offline;
    } else if (!pc) {
      setState("waiting", t.peer_joined.replace("{name}", others[0].name));
    }
  });

  async function enter() {
    hungUp = false;
    ready = false;
    buttons.rejoin.hidden = true;
    buttons.hangup.hidden = false;
    if (!mediaTried) await getMedia();
    await loadIceServers();
    setState("waiting", t.waiting);
    queue = queue.then(function () {
      ready = true;
      if (peerPresent) { signal({ type: "restart" }); newPc(); }
    });
  }

  document.addEventListener("telemed:joined", function (e) {
    const ack = e.detail;
    roomOpen = ack.room_open;
    joined = true;
    const restarting = roomOpen && !hungUp && (!pc || pc.connectionState !== "connected");
    if (restarting) outbox = [];  // the full restart below makes held signals stale
    pump();
    const opens = new Date(new Date(ack.consultation.start).getTime() - Number(root.dataset.earlyMinutes) * 60000);
    if (!roomOpen) {
      setState("closed", ack.consultation.status === "cancelled" ? t.cancelled
        : Date.now() < opens.getTime() ? t.opens_at.replace("{time}", opens.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }))
          : t.closed);
      if (Date.now() < opens.getTime()) {
        setTimeout(function () { window.telemedChat.rejoin(); }, Math.min(opens.getTime() - Date.now() + 1000, 2147483000));
      }
      return;
    }
    if (!hungUp && (!pc || pc.connectionState !== "connected")) enter();
  });

  buttons.hangup.addEventListener("click", function () {
    hungUp = true;
    signal({ type: "bye" });
    closePc();
    setState("ended", t.you_hung_up);
    buttons.hangup.hidden = true;
    buttons.rejoin.hidden = !roomOpen;
  });
  buttons.rejoin.addEventListener("click", enter);

  function toggle(kind, button) {
    if (!localStream) return;
    const tracks = kind === "audio" ? localStream.getAudioTracks() : localStream.getVideoTracks();
    tracks.forEach(function (track) { track.enabled = !track.enabled; });
    const off = tracks.length && !tracks[0].enabled;
    button.classList.toggle("off", off);
    button.setAttribute("aria-pressed", off ? "true" : "false");
  }
  buttons.mic.addEventListener("click", function () { toggle("audio", buttons.mic); });
  buttons.cam.addEventListener("click", function () { toggle("video", buttons.cam); });
  buttons.switchCam.addEventListener("click", async function () {
    if (!localStream || videoDevices.length < 2) return;
    cameraIndex = (cameraIndex + 1) % videoDevices.length;
    const fresh = await navigator.mediaDevices.getUserMedia({ video: { deviceId: { exact: videoDevices[cameraIndex].deviceId } } });
    const track = fresh.getVideoTracks()[0];
    const old = localStream.getVideoTracks()[0];
    if (pc) {
      const sender = pc.getSenders().find(function (x) { return x.track && x.track.kind === "video"; });
      if (sender) await sender.replaceTrack(track);
    }
    localStream.removeTrack(old); old.stop(); localStream.addTrack(track);
    localVideo.srcObject = localStream;
  });

  async function updateQuality() {
    if (!pc || pc.connectionState !== "connected") { qualityBox.textContent = ""; return; }
    const stats = await pc.getStats();
    let rtt = null, lost = 0, received = 0;
    stats.forEach(function (r) {
      if (r.type === "candidate-pair" && r.nominated && r.currentRoundTripTime !== undefined) rtt = r.currentRoundTripTime;
      if (r.type === "inbound-rtp" && r.kind === "video") { lost += r.packetsLost || 0; received += r.packetsReceived || 0; }
    });
    const loss = received + lost ? lost / (received + lost) : 0;
    const level = rtt === null ? "good" : rtt > 0.4 || loss > 0.08 ? "poor" : rtt > 0.2 || loss > 0.03 ? "fair" : "good";
    qualityBox.dataset.level = level;
    qualityBox.textContent = t["quality_" + level] + (rtt !== null ? " · " + Math.round(rtt * 1000) + " ms" : "");
  }
})();
