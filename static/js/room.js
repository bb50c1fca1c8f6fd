// Video room of one consultation: WebRTC peer to peer, signaling over the chat's Socket.IO connection.
//
// Negotiation follows the "perfect negotiation" pattern: the member's page is polite, the doctor's
// impolite, and only the doctor's page makes the first offer. Whoever (re)enters while the other is
// present sends `restart` first, so the other side drops any stale peer connection and both
// negotiate afresh (page reloads, rejoining after a hang-up).
// A short network drop is healed with an ICE restart without reloading.
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
  let pc = null, localStream = null, iceServers = [], makingOffer = false, ignoreOffer = false;
  let roomOpen = false, peerPresent = false, hungUp = false, mediaTried = false, disconnectTimer = null;
  let queue = Promise.resolve(), videoDevices = [], cameraIndex = 0, statsTimer = null, earlyCandidates = [];

  function setState(state, text) {
    root.dataset.callState = state;
    statusBox.textContent = text;
  }

  // Signals are sent only while joined: ones produced during a signaling outage wait here and go
  // out, in order, right after the rejoin (the server refuses signals from a connection not joined).
  let joined = false, outbox = [];
  function signal(data) {
    const message = Object.assign({ consultation_id: cid }, data);
    if (joined && socket.connected) socket.emit("signal", message);
    else outbox.push(message);
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
    if (r.ok) iceServers = (await r.json()).iceServers;
  }

  function closePc() {
    if (pc) { pc.ontrack = pc.onicecandidate = pc.onnegotiationneeded = pc.onconnectionstatechange = null; pc.close(); }
    pc = null;
    remoteVideo.srcObject = null;
    clearInterval(statsTimer);
  }

  function newPc() {
    closePc();
    earlyCandidates = [];
    pc = new RTCPeerConnection({ iceServers: iceServers });
    if (localStream) {
      localStream.getTracks().forEach(function (track) { pc.addTrack(track, localStream); });
    } else {
      pc.addTransceiver("audio", { direction: "recvonly" });
      pc.addTransceiver("video", { direction: "recvonly" });
    }
    pc.ontrack = function (e) {
      if (remoteVideo.srcObject !== e.streams[0]) remoteVideo.srcObject = e.streams[0] || new MediaStream([e.track]);
    };
    pc.onicecandidate = function (e) { signal({ type: "candidate", candidate: e.candidate ? e.candidate.toJSON() : null }); };
    pc.onnegotiationneeded = async function () {
      // The doctor's page makes the first offer; the member's page offers only to renegotiate
      // (an ICE restart) on an established connection. This avoids glare on every (re)join.
      if (polite && !pc.remoteDescription) return;
      try {
        makingOffer = true;
        await pc.setLocalDescription();
        signal({ type: pc.localDescription.type, sdp: pc.localDescription.sdp });
      } catch (err) { console.warn("negotiation failed", err); } finally { makingOffer = false; }
    };
    pc.onconnectionstatechange = function () {
      const state = pc.connectionState;
      clearTimeout(disconnectTimer);
      if (state === "connected") { setState("connected", t.connected); showHelp(""); }
      else if (state === "connecting" || state === "new") setState("connecting", t.connecting);
      else if (state === "disconnected") {
        setState("reconnecting", t.reconnecting);
        disconnectTimer = setTimeout(function () { if (pc && pc.connectionState !== "connected") pc.restartIce(); }, 3000);
      } else if (state === "failed") { setState("reconnecting", t.reconnecting); pc.restartIce(); }
    };
    statsTimer = setInterval(updateQuality, 2000);
    setState("connecting", t.connecting);
  }

  async function onSignal(s) {
    if (s.consultation_id !== cid || hungUp) return;
    if (s.type === "restart") { if (roomOpen) newPc(); return; }
    if (s.type === "bye") { closePc(); setState("peer-left", t.peer_hung_up); return; }
    if (!pc) newPc();
    if (s.type === "offer" || s.type === "answer") {
      const collision = s.type === "offer" && (makingOffer || pc.signalingState !== "stable");
      ignoreOffer = !polite && collision;
      if (ignoreOffer) return;
      await pc.setRemoteDescription({ type: s.type, sdp: s.sdp });
      // candidates that came before the description (e.g. from an offer rolled back on collision)
      for (const candidate of earlyCandidates.splice(0)) {
        try { await pc.addIceCandidate(candidate); } catch (err) { /* belongs to a replaced description */ }
      }
      if (s.type === "offer") {
        await pc.setLocalDescription();
        signal({ type: "answer", sdp: pc.localDescription.sdp });
      }
    } else if (s.type === "candidate") {
      if (!pc.remoteDescription) { earlyCandidates.push(s.candidate || undefined); return; }
      try { await pc.addIceCandidate(s.candidate || undefined); } catch (err) { if (!ignoreOffer) console.warn(err); }
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
    buttons.rejoin.hidden = true;
    buttons.hangup.hidden = false;
    if (!mediaTried) await getMedia();
    await loadIceServers();
    setState("waiting", t.waiting);
    queue = queue.then(function () {
      if (peerPresent) { signal({ type: "restart" }); newPc(); }
    });
  }

  document.addEventListener("telemed:joined", function (e) {
    const ack = e.detail;
    roomOpen = ack.room_open;
    joined = true;
    const restarting = roomOpen && !hungUp && (!pc || pc.connectionState !== "connected");
    const held = outbox.splice(0);  // a full restart below makes held signals stale: drop them
    if (!restarting) held.forEach(function (message) { socket.emit("signal", message); });
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
