// Negotiation of the call's peer connection: the "perfect negotiation" pattern.
//
// The member's page is polite, the doctor's impolite, and only the doctor's page makes the first
// offer: the member's page offers only to renegotiate (an ICE restart) on an established
// connection. This avoids glare on every (re)join; when both offer at once anyway, the impolite
// side ignores the other's offer and the polite side rolls its own back.
// Every peer connection has a random id: signals carry the sender's (`pc`) and, once known, the
// receiver's (`to_pc`), so a signal meant for a peer connection that has since been replaced (an
// answer or a candidate still in flight when a `restart` crossed it) is dropped, not applied to
// the new one.

/** A random id for a peer connection (unique enough between the two pages of a call). */
export function newConnectionId() {
  return Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
}

/**
 * @param {object} options
 * @param {boolean} options.polite true on the member's page
 * @param {() => RTCPeerConnection} options.createPeerConnection a new, configured peer connection
 * @param {() => MediaStream|null} options.localStream the camera and microphone, if any
 * @param {(signal: object) => void} options.send sends a signal (`offer`, `answer`, `candidate`)
 * @param {object} options.events `opened(conn)`, `closed()`, `track(event)`, `connectionState(conn, state)`
 * @param {() => number} [options.now] the clock, in ms
 * @param {() => string} [options.newId] ids of new peer connections
 */
export function createNegotiation({
  polite, createPeerConnection, localStream, send, events, now = Date.now, newId = newConnectionId,
}) {
  let conn = null;
  let id = null;
  let remoteId = null;
  let makingOffer = false;
  let ignoreOffer = false;
  let earlyCandidates = [];
  let lastOfferAt = 0;

  /** Sends a signal of peer connection `from`, tagged with its id and the peer's; nothing if `from` is stale. */
  function sendFrom(from, data) {
    if (from !== conn) return;
    send({ pc: id, ...(remoteId ? { to_pc: remoteId } : {}), ...data });
  }

  /** Closes the current peer connection, if any; its events stop. */
  function close() {
    if (conn) {
      conn.ontrack = conn.onicecandidate = conn.onnegotiationneeded = conn.onconnectionstatechange = null;
      conn.close();
    }
    conn = id = remoteId = null;
    events.closed();
  }

  /** Replaces the peer connection with a new one, sending the local tracks (or receiving only). */
  function open() {
    close();
    earlyCandidates = [];
    const fresh = (conn = createPeerConnection());
    id = newId();
    const stream = localStream();
    if (stream) {
      for (const track of stream.getTracks()) fresh.addTrack(track, stream);
    } else {
      fresh.addTransceiver("audio", { direction: "recvonly" });
      fresh.addTransceiver("video", { direction: "recvonly" });
    }
    fresh.ontrack = (event) => events.track(event);
    fresh.onicecandidate = (event) => {
      sendFrom(fresh, { type: "candidate", candidate: event.candidate ? event.candidate.toJSON() : null });
    };
    fresh.onnegotiationneeded = async () => {
      if (polite && !fresh.remoteDescription) return; // the doctor's page makes the first offer
      try {
        makingOffer = true;
        await fresh.setLocalDescription();
        sendFrom(fresh, { type: fresh.localDescription.type, sdp: fresh.localDescription.sdp });
      } catch (err) {
        console.warn("negotiation failed", err);
      } finally {
        makingOffer = false;
      }
    };
    fresh.onconnectionstatechange = () => events.connectionState(fresh, fresh.connectionState);
    events.opened(fresh);
    return fresh;
  }

  /** Applies an `offer`, `answer` or `candidate` signal of the other page. */
  async function handle(signal) {
    if (signal.to_pc && signal.to_pc !== id) return; // meant for a peer connection this page replaced
    // an offer from a new peer connection of the other side (its `restart` went missing): start afresh too
    const fromNewPeer = signal.type === "offer" && signal.pc && remoteId && signal.pc !== remoteId;
    if (!conn || fromNewPeer) open();
    const current = conn;
    if (signal.type === "offer" || signal.type === "answer") {
      await applyDescription(current, signal);
    } else if (signal.type === "candidate") {
      if (signal.pc && remoteId && signal.pc !== remoteId) return; // from a peer connection the other side replaced
      if (!current.remoteDescription) {
        earlyCandidates.push(signal);
        return;
      }
      try {
        await current.addIceCandidate(signal.candidate || undefined);
      } catch (err) {
        if (!ignoreOffer) console.warn(err);
      }
    }
  }

  async function applyDescription(current, signal) {
    if (signal.type === "offer") lastOfferAt = now();
    const collision = signal.type === "offer" && (makingOffer || current.signalingState !== "stable");
    ignoreOffer = !polite && collision;
    if (ignoreOffer) return;
    await current.setRemoteDescription({ type: signal.type, sdp: signal.sdp });
    if (current !== conn) return; // hung up meanwhile
    remoteId = signal.pc || null;
    // candidates that came before the description (e.g. from an offer rolled back on collision)
    for (const early of earlyCandidates.splice(0)) {
      if (early.pc && early.pc !== remoteId) continue;
      try {
        await current.addIceCandidate(early.candidate || undefined);
      } catch {
        // a candidate of a replaced description
      }
    }
    if (signal.type === "offer") {
      await current.setLocalDescription();
      sendFrom(current, { type: "answer", sdp: current.localDescription.sdp });
    }
  }

  return {
    open,
    close,
    handle,
    /** The current peer connection, or null. */
    get connection() {
      return conn;
    },
    /** The current peer connection's id, or null. */
    get id() {
      return id;
    },
    /** The other page's peer connection id, once its description was applied. */
    get remoteId() {
      return remoteId;
    },
    /** When the last offer of the other page came (ms of `now`), 0 if none. */
    get lastOfferAt() {
      return lastOfferAt;
    },
  };
}
