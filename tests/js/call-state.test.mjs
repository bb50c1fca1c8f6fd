// The call state machine (static/js/room/call-state.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { CallState, ClosedReason, Phase } from "../../static/js/room/call-state.js";

/** A state in the room, entered and waiting, with `changes` recording every notification. */
function waitingState() {
  const state = new CallState();
  state.openRoom();
  state.enter();
  state.waitForPeer();
  state.ready();
  const changes = [];
  state.subscribe((s) => changes.push(s.phase));
  return { state, changes };
}

test("a call goes waiting → connecting → connected → reconnecting → connected", () => {
  const { state, changes } = waitingState();
  assert.ok(state.negotiate());
  assert.ok(state.connected());
  assert.ok(state.mediaDropped());
  assert.equal(state.status, "reconnecting");
  assert.ok(state.connected());
  assert.deepEqual(changes, ["connecting", "connected", "reconnecting", "connected"]);
});

test("a transition outside its phases is refused and changes nothing", () => {
  const state = new CallState();
  const changes = [];
  state.subscribe((s) => changes.push(s.phase));
  assert.equal(state.connected(), false);
  assert.equal(state.negotiate(), false);
  assert.equal(state.phase, Phase.LOADING);
  assert.deepEqual(changes, []);
});

test("hanging up needs an open room and happens once", () => {
  const state = new CallState();
  assert.equal(state.can("hangUp"), false, "not before the server said the room is open");
  state.openRoom();
  assert.ok(state.hangUp());
  assert.equal(state.phase, Phase.ENDED);
  assert.equal(state.status, "you_hung_up");
  assert.ok(state.hungUp);
  assert.equal(state.entered, false, "signals are ignored after a hang-up");
  assert.equal(state.hangUp(), false);
});

test("after a hang-up no late event of the old call moves the phase", () => {
  const { state } = waitingState();
  state.negotiate();
  state.connected();
  state.hangUp();
  assert.equal(state.connected(), false);
  assert.equal(state.mediaDropped(), false);
  assert.equal(state.negotiate(), false);
  assert.equal(state.peerHungUp(), false);
  assert.equal(state.phase, Phase.ENDED);
  // rejoining: entering again, then waiting for the peer
  state.enter();
  assert.ok(state.can("hangUp"), "hang-up is offered again while the media is asked for");
  assert.ok(state.waitForPeer());
});

test("a closed room keeps its reason and when it opens", () => {
  const { state } = waitingState();
  const opensAt = new Date("2030-01-01T10:45:00Z");
  assert.ok(state.closeRoom(ClosedReason.NOT_YET_OPEN, opensAt));
  assert.equal(state.phase, Phase.CLOSED);
  assert.equal(state.status, "opens_at");
  assert.equal(state.opensAt, opensAt);
  assert.equal(state.roomOpen, false);
  assert.equal(state.entered, false);
  assert.equal(state.can("hangUp"), false);
});

test("the other participant's signaling dropping changes only the status of a connected call", () => {
  const { state } = waitingState();
  state.peerOffline();
  assert.equal(state.status, "waiting");
  state.negotiate();
  state.connected();
  state.peerOffline();
  assert.equal(state.phase, Phase.CONNECTED);
  assert.equal(state.status, "peer_offline");
});

test("connecting clears a camera problem (the call works without it)", () => {
  const { state } = waitingState();
  state.setMediaProblem("permission_denied");
  state.negotiate();
  state.connected();
  assert.equal(state.mediaProblem, null);
});
