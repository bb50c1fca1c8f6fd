// Fakes for the room's modules under `node --test`: a peer connection that follows the
// signaling-state rules the negotiation relies on (no media, no ICE), a Socket.IO socket, two
// sockets relayed like the server does, a clock with timers, and camera/microphone devices.

/** Waits until queued promise jobs and immediates have run (signals are handled asynchronously). */
export async function settle(rounds = 20) {
  for (let i = 0; i < rounds; i += 1) await new Promise((resolve) => setImmediate(resolve));
}

export class FakeTrack {
  constructor(kind) {
    this.kind = kind;
    this.enabled = true;
    this.readyState = "live";
  }

  stop() {
    this.readyState = "ended";
  }
}

export class FakeStream {
  constructor(tracks) {
    this.tracks = [...tracks];
  }

  getTracks() {
    return [...this.tracks];
  }

  getAudioTracks() {
    return this.tracks.filter((t) => t.kind === "audio");
  }

  getVideoTracks() {
    return this.tracks.filter((t) => t.kind === "video");
  }

  addTrack(track) {
    this.tracks.push(track);
  }

  removeTrack(track) {
    this.tracks = this.tracks.filter((t) => t !== track);
  }
}

/** `navigator.mediaDevices` with one camera and one microphone; records every stream it gave. */
export function fakeMediaDevices({ deny = false, cameras = 1 } = {}) {
  const given = [];
  return {
    given,
    async getUserMedia(constraints) {
      if (deny) throw Object.assign(new Error("denied"), { name: "NotAllowedError" });
      const tracks = [];
      if (constraints.audio) tracks.push(new FakeTrack("audio"));
      if (constraints.video) tracks.push(new FakeTrack("video"));
      const stream = new FakeStream(tracks);
      given.push(stream);
      return stream;
    },
    async enumerateDevices() {
      return Array.from({ length: cameras }, (_, i) => ({ kind: "videoinput", deviceId: `camera-${i}` }));
    },
  };
}

function invalidState(message) {
  return Object.assign(new Error(message), { name: "InvalidStateError" });
}

/**
 * An RTCPeerConnection without media: descriptions are strings naming the connection, the
 * signaling state changes as the standard says (with the implicit rollback of a local offer when
 * a remote one is set), `negotiationneeded` fires after tracks are added and after `restartIce()`.
 */
export class FakePeerConnection {
  static created = [];

  constructor(config) {
    this.config = config;
    this.name = `fake-pc-${FakePeerConnection.created.length + 1}`;
    this.signalingState = "stable";
    this.connectionState = "new";
    this.localDescription = null;
    this.remoteDescription = null;
    this.senders = [];
    this.transceivers = [];
    this.candidates = []; // added with addIceCandidate
    this.remoteDescriptions = []; // every description set with setRemoteDescription
    this.rollbacks = 0;
    this.iceRestarts = 0;
    this.closed = false;
    this.offers = 0;
    this.negotiationPending = false;
    this.gate = null; // a promise: setLocalDescription resolves only after it (the test holds it)
    this.onnegotiationneeded = this.onicecandidate = this.ontrack = this.onconnectionstatechange = null;
    FakePeerConnection.created.push(this);
  }

  addTrack(track, stream) {
    const sender = { track, stream };
    sender.replaceTrack = async (replacement) => {
      sender.track = replacement;
    };
    this.senders.push(sender);
    this.#needNegotiation();
  }

  addTransceiver(kind, init) {
    this.transceivers.push({ kind, direction: init.direction });
    this.#needNegotiation();
  }

  getSenders() {
    return this.senders;
  }

  restartIce() {
    this.iceRestarts += 1;
    this.#needNegotiation();
  }

  async setLocalDescription() {
    await Promise.resolve();
    if (this.closed) throw invalidState("closed");
    if (this.signalingState === "have-remote-offer") {
      this.localDescription = { type: "answer", sdp: `answer from ${this.name}` };
      this.signalingState = "stable";
      this.#negotiateIfPending();
    } else {
      this.offers += 1;
      this.localDescription = { type: "offer", sdp: `offer ${this.offers} from ${this.name}` };
      this.signalingState = "have-local-offer";
    }
    if (this.gate) await this.gate;
  }

  async setRemoteDescription(description) {
    await Promise.resolve();
    if (this.closed) throw invalidState("closed");
    if (description.type === "offer") {
      if (this.signalingState === "have-local-offer") {
        this.rollbacks += 1;
        this.localDescription = null;
      }
      this.signalingState = "have-remote-offer";
    } else if (description.type === "answer") {
      if (this.signalingState !== "have-local-offer") throw invalidState(`answer in ${this.signalingState}`);
      this.signalingState = "stable";
      this.#negotiateIfPending();
    }
    this.remoteDescription = description;
    this.remoteDescriptions.push(description);
  }

  async addIceCandidate(candidate) {
    await Promise.resolve();
    if (!this.remoteDescription) throw invalidState("no remote description");
    this.candidates.push(candidate);
  }

  close() {
    this.closed = true;
    this.signalingState = "closed";
    this.connectionState = "closed";
  }

  async getStats() {
    return new Map();
  }

  /** The test says the connection's state changed (`connected`, `disconnected`, `failed`, ...). */
  setConnectionState(state) {
    this.connectionState = state;
    if (this.onconnectionstatechange) this.onconnectionstatechange();
  }

  /** The test says ICE gathered a candidate (`json` as `toJSON()` gives it), or the end of them (null). */
  gatherCandidate(json) {
    const candidate = json === null ? null : { toJSON: () => json };
    if (this.onicecandidate) this.onicecandidate({ candidate });
  }

  #needNegotiation() {
    if (this.negotiationPending) return;
    this.negotiationPending = true;
    queueMicrotask(() => this.#negotiateIfPending());
  }

  #negotiateIfPending() {
    if (!this.negotiationPending || this.closed || this.signalingState !== "stable") return;
    this.negotiationPending = false;
    if (this.onnegotiationneeded) this.onnegotiationneeded();
  }
}

/**
 * A Socket.IO client socket: records what the page emits, acks `signal` at once (unless
 * `autoAck` is false: then `ackNext()` does), and lets the test play the server (`receive`).
 */
export class FakeSocket {
  constructor() {
    this.connected = true;
    this.autoAck = true;
    this.handlers = {};
    this.emitted = []; // {event, data}
    this.waitingAcks = [];
    this.onEmit = null; // (event, data) => void: a relay sees every emit
  }

  on(event, handler) {
    (this.handlers[event] ||= []).push(handler);
  }

  timeout() {
    return { emit: (event, data, ack) => this.emit(event, data, ack) };
  }

  emit(event, data, ack) {
    this.emitted.push({ event, data });
    if (this.onEmit) this.onEmit(event, data);
    if (!ack) return;
    const reply = () => ack(null, { ok: true, delivered: 1 });
    if (this.autoAck) queueMicrotask(reply);
    else this.waitingAcks.push(reply);
  }

  /** Acks the oldest signal still waiting for its ack. */
  ackNext() {
    this.waitingAcks.shift()();
  }

  /** The server sends `event` to this socket. */
  receive(event, data) {
    for (const handler of this.handlers[event] || []) handler(data);
  }

  /** The connection dropped. */
  drop() {
    this.connected = false;
    this.receive("disconnect", "transport close");
  }

  /** The signals the page sent, in order. */
  signals() {
    return this.emitted.filter((e) => e.event === "signal").map((e) => e.data);
  }
}

/** Relays `signal` events between two fake sockets, as the server does (asynchronously, in order). */
export function relay(a, b) {
  const pass = (to) => (event, data) => {
    if (event === "signal") setImmediate(() => to.receive("signal", data));
  };
  a.onEmit = pass(b);
  b.onEmit = pass(a);
}

/** A clock with timers that run only when the test moves time on with `advance(ms)`. */
export function fakeClock(start = 1_800_000_000_000) {
  let now = start;
  let nextId = 1;
  const timers = new Map();
  return {
    now: () => now,
    setTimeout(fn, ms = 0) {
      const id = nextId++;
      timers.set(id, { at: now + Math.max(0, ms), fn });
      return id;
    },
    clearTimeout(id) {
      timers.delete(id);
    },
    /** Moves time on by `ms`, running the timers that come due, in order. */
    advance(ms) {
      const end = now + ms;
      for (;;) {
        let due = null;
        for (const [id, timer] of timers) {
          if (timer.at <= end && (due === null || timer.at < due[1].at)) due = [id, timer];
        }
        if (due === null) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    /** How many timers are set. */
    get pending() {
      return timers.size;
    },
  };
}
