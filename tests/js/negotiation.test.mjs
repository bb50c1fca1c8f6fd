// Perfect negotiation (static/js/room/negotiation.js) against fake peer connections.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createNegotiation } from "../../static/js/room/negotiation.js";
import { FakePeerConnection, FakeStream, FakeTrack, settle } from "./fakes.mjs";

/** One page's negotiation: `polite` is the member's page. Ids are `<role>-pc-<n>`. */
function page({ polite, withMedia = true }) {
  const role = polite ? "member" : "doctor";
  const sent = [];
  const connections = [];
  let opened = 0;
  let closed = 0;
  const stream = withMedia ? new FakeStream([new FakeTrack("audio"), new FakeTrack("video")]) : null;
  let count = 0;
  const negotiation = createNegotiation({
    polite,
    createPeerConnection: () => {
      const conn = new FakePeerConnection({});
      connections.push(conn);
      return conn;
    },
    localStream: () => stream,
    send: (signal) => sent.push(signal),
    events: {
      opened: () => (opened += 1),
      closed: () => (closed += 1),
      track: () => {},
      connectionState: () => {},
    },
    newId: () => `${role}-pc-${++count}`,
  });
  return {
    negotiation,
    sent,
    connections,
    stream,
    get opened() {
      return opened;
    },
    get closed() {
      return closed;
    },
    /** The signals sent since the last call, then forgets them. */
    take() {
      return sent.splice(0);
    },
  };
}

const offerFrom = (pc, sdp = `offer from ${pc}`) => ({ type: "offer", sdp, pc });

test("the doctor's page offers as soon as its peer connection opens", async () => {
  const doctor = page({ polite: false });
  const conn = doctor.negotiation.open();
  await settle();
  assert.deepEqual(doctor.take(), [{ pc: "doctor-pc-1", type: "offer", sdp: conn.localDescription.sdp }]);
  assert.match(conn.localDescription.sdp, /^offer/);
  assert.equal(conn.signalingState, "have-local-offer");
  assert.equal(conn.senders.length, 2, "the camera and the microphone are sent");
});

test("the member's page makes no first offer: it waits for the doctor's", async () => {
  const member = page({ polite: true });
  const conn = member.negotiation.open();
  await settle();
  assert.deepEqual(member.take(), []);
  assert.equal(conn.signalingState, "stable");
});

test("without media the peer connection only receives", async () => {
  const member = page({ polite: true, withMedia: false });
  const conn = member.negotiation.open();
  assert.deepEqual(conn.transceivers, [
    { kind: "audio", direction: "recvonly" },
    { kind: "video", direction: "recvonly" },
  ]);
  assert.equal(conn.senders.length, 0);
});

test("an offer is answered, the answer naming both peer connections", async () => {
  const member = page({ polite: true });
  await member.negotiation.handle(offerFrom("doctor-pc-1"));
  const [conn] = member.connections;
  assert.equal(conn.remoteDescription.sdp, "offer from doctor-pc-1");
  assert.deepEqual(member.take(), [
    { pc: "member-pc-1", to_pc: "doctor-pc-1", type: "answer", sdp: conn.localDescription.sdp },
  ]);
  assert.match(conn.localDescription.sdp, /^answer/);
  assert.equal(member.negotiation.remoteId, "doctor-pc-1");
  conn.gatherCandidate({ candidate: "c1" });
  conn.gatherCandidate(null);
  assert.deepEqual(member.take(), [
    { pc: "member-pc-1", to_pc: "doctor-pc-1", type: "candidate", candidate: { candidate: "c1" } },
    { pc: "member-pc-1", to_pc: "doctor-pc-1", type: "candidate", candidate: null },
  ]);
});

test("glare: the impolite page ignores an offer that crosses its own", async () => {
  const doctor = page({ polite: false });
  const conn = doctor.negotiation.open();
  await settle();
  doctor.take();
  await doctor.negotiation.handle(offerFrom("member-pc-1"));
  assert.deepEqual(conn.remoteDescriptions, [], "the member's offer was not applied");
  assert.equal(conn.signalingState, "have-local-offer", "its own offer stands");
  assert.deepEqual(doctor.take(), [], "no answer");
  // the member's page then answers the doctor's offer, which completes the negotiation
  await doctor.negotiation.handle({ type: "answer", sdp: "answer", pc: "member-pc-1", to_pc: "doctor-pc-1" });
  assert.equal(conn.signalingState, "stable");
  assert.equal(doctor.negotiation.remoteId, "member-pc-1");
});

test("glare: the polite page rolls its offer back and answers the other's", async () => {
  const member = page({ polite: true });
  await member.negotiation.handle(offerFrom("doctor-pc-1"));
  const [conn] = member.connections;
  member.take();
  conn.restartIce(); // the member's own (fallback) ICE restart: it offers on an established connection
  await settle();
  assert.equal(member.take()[0].type, "offer");
  assert.equal(conn.signalingState, "have-local-offer");

  await member.negotiation.handle(offerFrom("doctor-pc-1", "restart offer"));
  assert.equal(conn.rollbacks, 1);
  assert.equal(conn.remoteDescription.sdp, "restart offer");
  assert.deepEqual(member.take().map((s) => s.type), ["answer"]);
  assert.equal(conn.signalingState, "stable");
});

test("a signal whose to_pc names a replaced peer connection is dropped", async () => {
  const doctor = page({ polite: false });
  const first = doctor.negotiation.open();
  await settle();
  const second = doctor.negotiation.open(); // a restart crossed the answer in flight
  await settle();
  assert.ok(first.closed);
  assert.equal(doctor.negotiation.id, "doctor-pc-2");

  await doctor.negotiation.handle({ type: "answer", sdp: "stale", pc: "member-pc-1", to_pc: "doctor-pc-1" });
  await doctor.negotiation.handle({ type: "candidate", candidate: { c: 1 }, pc: "member-pc-1", to_pc: "doctor-pc-1" });
  assert.deepEqual(second.remoteDescriptions, []);
  assert.equal(second.signalingState, "have-local-offer");

  await doctor.negotiation.handle({ type: "answer", sdp: "fresh", pc: "member-pc-2", to_pc: "doctor-pc-2" });
  assert.equal(second.remoteDescription.sdp, "fresh");
  assert.equal(second.signalingState, "stable");
});

test("the signals of a replaced peer connection are not sent", async () => {
  const doctor = page({ polite: false });
  const first = doctor.negotiation.open();
  doctor.negotiation.open();
  await settle();
  doctor.take();
  first.gatherCandidate({ candidate: "late" });
  assert.deepEqual(doctor.take(), []);
  assert.equal(first.onicecandidate, null, "a closed connection's events are detached");
});

test("an offer made by a peer connection that was replaced meanwhile is not sent", async () => {
  const doctor = page({ polite: false });
  const first = doctor.negotiation.open();
  let release;
  first.gate = new Promise((resolve) => (release = resolve));
  await settle(); // the first connection's offer is made, its promise not yet resolved
  assert.equal(first.signalingState, "have-local-offer");
  doctor.negotiation.open();
  await settle();
  release();
  await settle();
  const sent = doctor.take();
  assert.deepEqual(sent.map((s) => [s.type, s.pc]), [["offer", "doctor-pc-2"]]);
  assert.notEqual(sent[0].sdp, first.localDescription.sdp);
});

test("candidates that come before the description wait for it; a replaced connection's are dropped", async () => {
  const member = page({ polite: true });
  await member.negotiation.handle({ type: "candidate", candidate: { c: "old" }, pc: "doctor-pc-0" });
  await member.negotiation.handle({ type: "candidate", candidate: { c: "early" }, pc: "doctor-pc-1" });
  const [conn] = member.connections;
  assert.deepEqual(conn.candidates, []);
  await member.negotiation.handle(offerFrom("doctor-pc-1"));
  assert.deepEqual(conn.candidates, [{ c: "early" }]);

  await member.negotiation.handle({ type: "candidate", candidate: { c: "late" }, pc: "doctor-pc-0" });
  await member.negotiation.handle({ type: "candidate", candidate: { c: "next" }, pc: "doctor-pc-1" });
  assert.deepEqual(conn.candidates, [{ c: "early" }, { c: "next" }]);
});

test("an offer from a new peer connection of the other page starts afresh", async () => {
  const member = page({ polite: true });
  await member.negotiation.handle(offerFrom("doctor-pc-1"));
  member.take();
  await member.negotiation.handle(offerFrom("doctor-pc-2")); // the doctor's `restart` went missing
  const [old, fresh] = member.connections;
  assert.ok(old.closed);
  assert.equal(fresh.remoteDescription.sdp, "offer from doctor-pc-2");
  assert.deepEqual(member.take().map((s) => [s.type, s.pc, s.to_pc]), [["answer", "member-pc-2", "doctor-pc-2"]]);
  assert.equal(member.opened, 2);
});

test("closing detaches the connection and reports it", async () => {
  const doctor = page({ polite: false });
  const conn = doctor.negotiation.open();
  doctor.negotiation.close();
  assert.ok(conn.closed);
  assert.equal(conn.onnegotiationneeded, null);
  assert.equal(doctor.negotiation.connection, null);
  assert.equal(doctor.negotiation.id, null);
  assert.equal(doctor.closed, 2, "once before opening, once now");
});
