// The state of one page's video call: one object, changed only by named transitions.
//
// `phase` is what the page shows (`#room[data-call-state]`); `status` is the i18n key of the
// status line. Each transition lists the phases it may start from: a transition asked for in
// any other phase is refused (it returns false and nothing changes), so a late event of a
// finished call cannot bring it back to life. The state does no I/O; `call.js` makes the
// effects and `main.js` renders every change.

/** The phases of a call, as written to `#room[data-call-state]`. */
export const Phase = Object.freeze({
  LOADING: "loading", // the page has not heard from the server yet
  CLOSED: "closed", // the room is not open (not yet, any more, or the consultation was cancelled)
  WAITING: "waiting", // in the room, no peer connection
  CONNECTING: "connecting", // a peer connection is being negotiated
  CONNECTED: "connected",
  RECONNECTING: "reconnecting", // the media path dropped; ICE restarts are under way
  PEER_LEFT: "peer-left", // the other participant hung up
  ENDED: "ended", // this participant hung up
});

const { LOADING, CLOSED, WAITING, CONNECTING, CONNECTED, RECONNECTING, PEER_LEFT, ENDED } = Phase;
const ALL = Object.values(Phase);

/** Named transitions: the phases each may start from (and any further condition), and the phase it leads to. */
export const TRANSITIONS = Object.freeze({
  closeRoom: { from: ALL, to: CLOSED },
  waitForPeer: { from: [LOADING, CLOSED, WAITING, CONNECTING, RECONNECTING, PEER_LEFT, ENDED], to: WAITING },
  peerJoined: { from: [LOADING, CLOSED, WAITING, PEER_LEFT], to: WAITING },
  negotiate: { from: [WAITING, CONNECTING, CONNECTED, RECONNECTING, PEER_LEFT], to: CONNECTING },
  connected: { from: [WAITING, CONNECTING, RECONNECTING], to: CONNECTED },
  mediaDropped: { from: [WAITING, CONNECTING, CONNECTED, RECONNECTING], to: RECONNECTING },
  peerHungUp: { from: [LOADING, WAITING, CONNECTING, CONNECTED, RECONNECTING, PEER_LEFT], to: PEER_LEFT },
  // while the room is open and not hung up, even during an entry (getting the media again)
  hangUp: { from: ALL, to: ENDED, when: (state) => state.roomOpen && !state.hungUp },
});

/** The status line each phase shows unless the transition names another one. */
const STATUS = {
  [WAITING]: "waiting", [CONNECTING]: "connecting", [CONNECTED]: "connected",
  [RECONNECTING]: "reconnecting", [PEER_LEFT]: "peer_hung_up", [ENDED]: "you_hung_up",
};

/** Why a room is closed, as i18n keys of the status line. */
export const ClosedReason = Object.freeze({ CANCELLED: "cancelled", NOT_YET_OPEN: "opens_at", OVER: "closed" });

export class CallState {
  phase = LOADING;
  /** i18n key of the status line; null keeps the text the page was rendered with. */
  status = null;
  /** The server said the room is open (signaling allowed). */
  roomOpen = false;
  /** This participant hung up and has not rejoined. */
  hungUp = false;
  /** Media and ICE servers are ready: signals are handled (before that they are ignored). */
  entered = false;
  peerPresent = false;
  peerName = "";
  /** When a room that is not open yet opens (a Date), else null. */
  opensAt = null;
  /** i18n key of why the camera or microphone is not used, or null. */
  mediaProblem = null;

  #listeners = [];

  /** Calls `listener(state)` after every change. */
  subscribe(listener) {
    this.#listeners.push(listener);
  }

  /** Whether the named transition is allowed in the current phase. */
  can(name) {
    const { from, when } = TRANSITIONS[name];
    return from.includes(this.phase) && (!when || when(this));
  }

  // --- transitions that move the phase (each returns whether it happened) ---

  /** The join says the room is not open: `reason` is a ClosedReason, `opensAt` a Date or null. */
  closeRoom(reason, opensAt = null) {
    return this.#move("closeRoom", () => {
      Object.assign(this, { roomOpen: false, entered: false, status: reason, opensAt });
    });
  }

  /** In the room with media ready, no peer connection yet. */
  waitForPeer() {
    return this.#move("waitForPeer");
  }

  /** The other participant is in the room, no peer connection yet. */
  peerJoined(name) {
    return this.#move("peerJoined", () => {
      this.peerName = name;
      this.status = "peer_joined";
    });
  }

  /** A peer connection was created or is (re)connecting. */
  negotiate() {
    return this.#move("negotiate");
  }

  connected() {
    return this.#move("connected", () => {
      this.mediaProblem = null;
    });
  }

  /** The peer connection is disconnected or failed. */
  mediaDropped() {
    return this.#move("mediaDropped");
  }

  /** The other participant sent `bye`. */
  peerHungUp() {
    return this.#move("peerHungUp");
  }

  /** This participant hung up. */
  hangUp() {
    return this.#move("hangUp", () => {
      this.hungUp = true;
      this.entered = false;
    });
  }

  // --- changes that keep the phase ---

  /** The server accepted the join and the room is open. */
  openRoom() {
    this.#set({ roomOpen: true, opensAt: null });
  }

  /** (Re)entering the call: signals wait until `ready()`. */
  enter() {
    this.#set({ hungUp: false, entered: false });
  }

  /** Media and ICE servers are ready; signals are handled from now on. */
  ready() {
    this.#set({ entered: true });
  }

  /** Who else is in the room (presence). */
  setPeer(present, name = "") {
    this.#set({ peerPresent: present, peerName: present ? name : this.peerName });
  }

  /** The other participant's signaling dropped while the media still flows. */
  peerOffline() {
    if (this.phase === CONNECTED) this.#set({ status: "peer_offline" });
  }

  /** `key`: i18n key of a camera or microphone problem, or null when there is none. */
  setMediaProblem(key) {
    this.#set({ mediaProblem: key });
  }

  #move(name, apply) {
    if (!this.can(name)) return false;
    const to = TRANSITIONS[name].to;
    this.phase = to;
    this.status = STATUS[to] || this.status;
    if (apply) apply();
    this.#notify();
    return true;
  }

  #set(fields) {
    Object.assign(this, fields);
    this.#notify();
  }

  #notify() {
    for (const listener of this.#listeners) listener(this);
  }
}
