// The video call of one consultation: peer to peer, signaling over the page's Socket.IO
// connection. Ties the call state, the signaling transport, negotiation and recovery together;
// knows no DOM (main.js renders the state and wires the buttons).
//
// Whoever (re)enters while the other is present sends `restart` first, so the other side drops
// any stale peer connection and both negotiate afresh (page reloads, rejoining after a hang-up).
// Signals are handled one at a time, in the order they came; before the page has entered (media
// and ICE servers ready) only `bye` is heeded, since entering sends `restart` itself.

import { CallState, ClosedReason } from "./call-state.js";
import { createNegotiation } from "./negotiation.js";
import { createRecovery } from "./recovery.js";
import { createSignalTransport } from "./transport.js";

/** setTimeout's largest delay. */
const MAX_TIMER_MS = 2147483000;

/**
 * @param {object} options
 * @param {object} options.socket the page's Socket.IO socket
 * @param {number} options.consultationId
 * @param {number} options.userId this participant's user id (presence lists everyone)
 * @param {boolean} options.polite true on the member's page, false on the doctor's
 * @param {number} options.earlyJoinMinutes how long before the start the room opens
 * @param {object} options.media the local media (see media.js: `acquire`, `release`, `stream`)
 * @param {() => Promise<object|null>} options.loadRtcConfig `{iceServers, iceTransportPolicy}`, null to keep the last
 * @param {(config: object) => RTCPeerConnection} options.createPeerConnection
 * @param {() => void} options.rejoinRoom joins the consultation again (when a room not open yet opens)
 * @param {(event: RTCTrackEvent|null) => void} [options.onRemoteTrack] a remote track; null when the call closed
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
 * @param {() => number} [options.now] the clock, in ms
 * @param {() => string} [options.newId] ids of new peer connections
 */
export function createCall({
  socket, consultationId, userId, polite, earlyJoinMinutes, media, loadRtcConfig, createPeerConnection,
  rejoinRoom, onRemoteTrack = () => {}, timers = globalThis, now = Date.now, newId,
}) {
  const state = new CallState();
  const transport = createSignalTransport({ socket, consultationId });
  let rtcConfig = { iceServers: [], iceTransportPolicy: "all" };
  let inbox = Promise.resolve(); // signal handling, one at a time
  let entry = 0; // bumped by every entry, hang-up and room closing: a stale entry stops
  let openingTimer = null;

  const negotiation = createNegotiation({
    polite,
    createPeerConnection: () => createPeerConnection(rtcConfig),
    localStream: () => media.stream,
    send: transport.send,
    now,
    ...(newId ? { newId } : {}),
    events: {
      opened: () => state.negotiate(),
      closed: () => {
        recovery.cancel();
        onRemoteTrack(null);
      },
      track: (event) => onRemoteTrack(event),
      connectionState: (conn, connState) => {
        recovery.connectionState(conn, connState);
        if (connState === "connected") state.connected();
        else if (connState === "connecting" || connState === "new") state.negotiate();
        else if (connState === "disconnected" || connState === "failed") state.mediaDropped();
      },
    },
  });
  const recovery = createRecovery({
    polite,
    isCurrent: (conn) => conn === negotiation.connection,
    lastOfferAt: () => negotiation.lastOfferAt,
    timers,
    now,
  });

  function inOrder(step) {
    inbox = inbox.then(step).catch((err) => console.warn("signal", err));
    return inbox;
  }

  function inCall() {
    const conn = negotiation.connection;
    return conn !== null && conn.connectionState === "connected";
  }

  async function onSignal(signal) {
    if (state.hungUp) return;
    if (signal.type === "bye") {
      negotiation.close();
      state.peerHungUp();
      return;
    }
    if (!state.entered) return; // entering sends `restart` itself
    if (signal.type === "restart") {
      if (state.roomOpen) negotiation.open();
      return;
    }
    await negotiation.handle(signal);
  }

  function onPresence(presence) {
    if (presence.consultation_id !== consultationId) return;
    const others = presence.participants.filter((p) => p.id !== userId);
    state.setPeer(others.length > 0, others.length ? others[0].name : "");
    if (!state.roomOpen || state.hungUp) return;
    if (!others.length) {
      if (inCall()) state.peerOffline();
      else state.waitForPeer();
    } else if (!negotiation.connection) {
      state.peerJoined(others[0].name);
    }
  }

  /** Gets media and ICE servers, then waits for the peer or, if it is here, starts the call. */
  async function enter() {
    const mine = ++entry;
    state.enter();
    const problem = await media.acquire(); // asked once; a second entry waits for the same answer
    if (mine !== entry) return;
    state.setMediaProblem(problem);
    try {
      const config = await loadRtcConfig();
      if (config) rtcConfig = config;
    } catch (err) {
      console.warn("ICE servers", err); // keep the last ones
    }
    if (mine !== entry) return;
    state.waitForPeer();
    await inOrder(() => {
      if (mine !== entry) return;
      state.ready();
      if (state.peerPresent) {
        transport.send({ type: "restart" });
        negotiation.open();
      }
    });
  }

  function closeRoom(consultation) {
    const opensAt = new Date(Date.parse(consultation.start) - earlyJoinMinutes * 60000);
    const notYet = now() < opensAt.getTime();
    const reason = consultation.status === "cancelled" ? ClosedReason.CANCELLED
      : notYet ? ClosedReason.NOT_YET_OPEN : ClosedReason.OVER;
    entry += 1;
    transport.discardHeld(); // the server refuses signals of a closed room
    if (negotiation.connection) negotiation.close();
    media.release();
    state.closeRoom(reason, notYet ? opensAt : null);
    timers.clearTimeout(openingTimer);
    if (notYet && reason !== ClosedReason.CANCELLED) {
      openingTimer = timers.setTimeout(rejoinRoom, Math.min(opensAt.getTime() - now() + 1000, MAX_TIMER_MS));
    }
  }

  /** The chat's `join` ack `{room_open, consultation: {status, start}}` (first join and every rejoin). */
  function joined(ack) {
    if (!ack.room_open) {
      closeRoom(ack.consultation);
      transport.joined();
      return;
    }
    const restarting = !state.hungUp && !inCall();
    if (restarting) transport.discardHeld(); // the full restart below makes held signals stale
    transport.joined();
    state.openRoom();
    if (restarting) enter();
  }

  /** Leaves the call: tells the peer, closes the peer connection, stops the camera and microphone. */
  function hangUp() {
    if (!state.can("hangUp")) return;
    entry += 1;
    transport.send({ type: "bye" });
    negotiation.close();
    media.release();
    state.hangUp();
  }

  /** Enters the call again after a hang-up. */
  function rejoin() {
    if (state.hungUp && state.roomOpen) return enter();
    return Promise.resolve();
  }

  transport.onSignal((signal) => inOrder(() => onSignal(signal)));
  socket.on("presence", onPresence);

  return {
    state,
    joined,
    hangUp,
    rejoin,
    /** The current peer connection, or null. */
    get connection() {
      return negotiation.connection;
    },
  };
}
