// Video room page (templates/video/room.html): renders the call's state and wires the buttons.
// The Socket.IO connection is the chat's (static/js/chat.js, `window.telemedSocket`); the chat's
// join ack comes as the `telemed:joined` document event.

import { Phase } from "./call-state.js";
import { createCall } from "./call.js";
import { createLocalMedia } from "./media.js";
import { measureQuality } from "./quality.js";

/** How often the connection quality label is refreshed. */
const QUALITY_EVERY_MS = 2000;

const root = document.getElementById("room");
if (root && window.telemedSocket) startRoom(root, window.telemedSocket);

/** The ICE servers of the consultation's call, or null (the last ones are kept). */
async function loadRtcConfig(consultationId) {
  const r = await fetch(`/api/v1/consultations/${consultationId}/ice-servers`, { credentials: "same-origin" });
  if (!r.ok) return null;
  const config = await r.json();
  // "relay": only TURN, the peer never sees our address
  return { iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy || "all" };
}

function startRoom(root, socket) {
  const consultationId = Number(root.dataset.consultationId);
  const t = JSON.parse(root.querySelector(".room-i18n").textContent);
  const localVideo = root.querySelector("video.local");
  const remoteVideo = root.querySelector("video.remote");
  const statusBox = root.querySelector(".room-status");
  const helpBox = root.querySelector(".room-help");
  const qualityBox = root.querySelector(".quality");
  const buttons = {
    mic: root.querySelector("button.mic"),
    cam: root.querySelector("button.cam"),
    switchCam: root.querySelector("button.switch-camera"),
    hangup: root.querySelector("button.hangup"),
    rejoin: root.querySelector("button.rejoin"),
  };

  const media = createLocalMedia({ mediaDevices: navigator.mediaDevices, onChange: showLocal });
  const call = createCall({
    socket,
    consultationId,
    userId: Number(root.dataset.userId),
    polite: root.dataset.role !== "doctor",
    earlyJoinMinutes: Number(root.dataset.earlyMinutes),
    media,
    loadRtcConfig: () => loadRtcConfig(consultationId),
    createPeerConnection: (config) => new RTCPeerConnection(config),
    rejoinRoom: () => window.telemedChat.rejoin(),
    onRemoteTrack: showRemote,
  });
  call.state.subscribe(render);

  function statusText(state) {
    const text = t[state.status] || "";
    if (state.status === "peer_joined") return text.replace("{name}", state.peerName);
    if (state.status === "opens_at") {
      return text.replace("{time}", state.opensAt.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    }
    return text;
  }

  function render(state) {
    root.dataset.callState = state.phase;
    if (state.status) statusBox.textContent = statusText(state);
    helpBox.textContent = state.mediaProblem ? t[state.mediaProblem] : "";
    helpBox.hidden = !state.mediaProblem;
    // no call controls in a closed room; after a hang-up only "Rejoin"
    const inCall = state.roomOpen && !state.hungUp;
    buttons.mic.hidden = !inCall;
    buttons.cam.hidden = !inCall;
    buttons.switchCam.hidden = !inCall || !media.canSwitchCamera;
    buttons.hangup.hidden = !state.can("hangUp");
    buttons.rejoin.hidden = !(state.roomOpen && state.hungUp);
    qualityBox.hidden = state.phase === Phase.ENDED || state.phase === Phase.CLOSED;
  }

  function showPressed(button, off) {
    button.classList.toggle("off", off);
    button.setAttribute("aria-pressed", off ? "true" : "false");
  }

  function showLocal(stream) {
    localVideo.srcObject = stream;
    showPressed(buttons.mic, media.isOff("audio"));
    showPressed(buttons.cam, media.isOff("video"));
    render(call.state);
  }

  function showRemote(event) {
    if (!event) remoteVideo.srcObject = null;
    else if (remoteVideo.srcObject !== event.streams[0]) {
      remoteVideo.srcObject = event.streams[0] || new MediaStream([event.track]);
    }
  }

  async function showQuality() {
    let quality = null;
    try {
      quality = await measureQuality(call.connection);
    } catch {
      quality = null; // the peer connection closed meanwhile
    }
    if (!quality) {
      qualityBox.textContent = "";
      return;
    }
    qualityBox.dataset.level = quality.level;
    qualityBox.textContent = t["quality_" + quality.level] + (quality.rttMs !== null ? ` · ${quality.rttMs} ms` : "");
  }

  buttons.hangup.addEventListener("click", () => call.hangUp());
  buttons.rejoin.addEventListener("click", () => call.rejoin());
  buttons.mic.addEventListener("click", () => {
    const off = media.toggle("audio");
    if (off !== null) showPressed(buttons.mic, off);
  });
  buttons.cam.addEventListener("click", () => {
    const off = media.toggle("video");
    if (off !== null) showPressed(buttons.cam, off);
  });
  buttons.switchCam.addEventListener("click", () => {
    media.switchCamera(call.connection).catch((err) => console.warn("switch camera", err));
  });
  setInterval(showQuality, QUALITY_EVERY_MS);

  document.addEventListener("telemed:joined", (event) => call.joined(event.detail));
  // Modules run once all of them are loaded, after chat.js: by then the chat may have joined, and
  // the presence and the ack went unheard. Join again for fresh ones (a second join is harmless).
  if (socket.connected) window.telemedChat.rejoin();
}
