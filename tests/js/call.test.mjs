// The call of one page (static/js/room/call.js): entering, signals, presence, recovery, hang-up,
// closed rooms. Fake socket, fake peer connections, fake devices, a fake clock.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createCall } from "../../static/js/room/call.js";
import { Phase } from "../../static/js/room/call-state.js";
import { createLocalMedia } from "../../static/js/room/media.js";
import { FakePeerConnection, FakeSocket, fakeClock, fakeMediaDevices, relay, settle } from "./fakes.mjs";

const CID = 7;
const MEMBER = { id: 1, name: "Анна" };
const DOCTOR = { id: 2, name: "Соколова Марина" };
const RTC_CONFIG = { iceServers: [{ urls: "turn:127.0.0.1:3478" }], iceTransportPolicy: "relay" };
const MINUTE = 60000;

/** One page of the call: `role` is "doctor" or "member". */
function page(role, { devices = fakeMediaDevices(), loadRtcConfig = async () => RTC_CONFIG, clock = fakeClock() } = {}) {
  const socket = new FakeSocket();
  const media = createLocalMedia({ mediaDevices: devices });
  const connections = [];
  let rejoins = 0;
  let count = 0;
  const call = createCall({
    socket,
    consultationId: CID,
    userId: role === "doctor" ? DOCTOR.id : MEMBER.id,
    polite: role !== "doctor",
    earlyJoinMinutes: 15,
    media,
    loadRtcConfig,
    createPeerConnection: (config) => {
      const conn = new FakePeerConnection(config);
      connections.push(conn);
      return conn;
    },
    rejoinRoom: () => (rejoins += 1),
    timers: clock,
    now: clock.now,
    newId: () => `${role}-pc-${++count}`,
  });
  return {
    call,
    socket,
    media,
    devices,
    connections,
    clock,
    get rejoins() {
      return rejoins;
    },
    /** The server's presence: who is in the room. */
    presence(...participants) {
      socket.receive("presence", { consultation_id: CID, participants });
    },
    /** The chat's join ack: the room is open unless told otherwise. */
    joined({ roomOpen = true, status = "scheduled", startIn = 5 * MINUTE } = {}) {
      const start = new Date(clock.now() + startIn);
      call.joined({
        room_open: roomOpen,
        consultation: { id: CID, status, start: start.toISOString(), end: new Date(+start + 30 * MINUTE).toISOString() },
      });
    },
    /** A signal of the other page, relayed by the server. */
    receive(signal) {
      socket.receive("signal", { consultation_id: CID, ...signal });
    },
    types() {
      return socket.signals().map((s) => s.type);
    },
  };
}

/** A page that entered with the other participant present; settled. */
async function entered(role, options) {
  const p = page(role, options);
  p.presence(MEMBER, DOCTOR);
  p.joined();
  await settle();
  return p;
}

/** The doctor's page in a connected call (the member's answer applied). */
async function doctorInCall() {
  const doctor = await entered("doctor");
  doctor.receive({ type: "answer", sdp: "answer", pc: "member-pc-1", to_pc: "doctor-pc-1" });
  await settle();
  doctor.call.connection.setConnectionState("connected");
  return doctor;
}

test("the doctor entering while the member is there sends restart, then the first offer", async () => {
  const doctor = await entered("doctor");
  assert.deepEqual(doctor.types(), ["restart", "offer"]);
  const offer = doctor.socket.signals()[1];
  assert.equal(offer.pc, "doctor-pc-1");
  assert.equal(offer.to_pc, undefined, "the member's peer connection is not known yet");
  assert.equal(offer.consultation_id, CID);
  assert.deepEqual(doctor.call.connection.config, RTC_CONFIG);
  assert.equal(doctor.call.connection.senders.length, 2);
  assert.equal(doctor.call.state.phase, Phase.CONNECTING);
});

test("the member entering while the doctor is there sends restart and waits for the offer", async () => {
  const member = await entered("member");
  assert.deepEqual(member.types(), ["restart"]);
  assert.equal(member.connections.length, 1);
  member.receive({ type: "offer", sdp: "offer", pc: "doctor-pc-1" });
  await settle();
  assert.deepEqual(member.types(), ["restart", "answer"]);
  assert.equal(member.socket.signals()[1].to_pc, "doctor-pc-1");
});

test("entering an empty room only waits; the peer's arrival is shown", async () => {
  const doctor = page("doctor");
  doctor.presence(DOCTOR);
  doctor.joined();
  await settle();
  assert.equal(doctor.call.state.phase, Phase.WAITING);
  assert.equal(doctor.call.state.status, "waiting");
  assert.deepEqual(doctor.types(), []);
  doctor.presence(DOCTOR, MEMBER);
  assert.equal(doctor.call.state.status, "peer_joined");
  assert.equal(doctor.call.state.peerName, MEMBER.name);
  // the member's page, entering, sends `restart`: then the doctor's page offers
  doctor.receive({ type: "restart" });
  await settle();
  assert.deepEqual(doctor.types(), ["offer"]);
});

test("signals before entering are ignored, except bye", async () => {
  let configLoaded;
  const loadRtcConfig = () => new Promise((resolve) => (configLoaded = () => resolve(RTC_CONFIG)));
  const member = page("member", { loadRtcConfig });
  member.presence(MEMBER, DOCTOR);
  member.joined();
  await settle();
  member.receive({ type: "offer", sdp: "early offer", pc: "doctor-pc-1" });
  member.receive({ type: "restart" });
  await settle();
  assert.equal(member.connections.length, 0, "nothing negotiated before entering");
  member.receive({ type: "bye" });
  await settle();
  assert.equal(member.call.state.phase, Phase.PEER_LEFT);

  configLoaded();
  await settle();
  assert.deepEqual(member.types(), ["restart"], "entering sends restart itself");
  assert.equal(member.connections.length, 1);
  assert.deepEqual(member.connections[0].remoteDescriptions, []);
});

test("a restart replaces the peer connection; signals for the old one are dropped", async () => {
  const doctor = await doctorInCall();
  const old = doctor.call.connection;
  doctor.receive({ type: "restart" }); // the member's page reloaded
  await settle();
  assert.ok(old.closed);
  const fresh = doctor.call.connection;
  assert.notEqual(fresh, old);
  const offer = doctor.socket.signals().at(-1);
  assert.deepEqual([offer.type, offer.pc, offer.to_pc], ["offer", "doctor-pc-2", undefined]);
  assert.equal(doctor.call.state.phase, Phase.CONNECTING);

  doctor.receive({ type: "candidate", candidate: { c: 1 }, pc: "member-pc-1", to_pc: "doctor-pc-1" });
  doctor.receive({ type: "answer", sdp: "late", pc: "member-pc-1", to_pc: "doctor-pc-1" });
  await settle();
  assert.deepEqual(fresh.remoteDescriptions, []);
  doctor.receive({ type: "answer", sdp: "answer", pc: "member-pc-2", to_pc: "doctor-pc-2" });
  await settle();
  assert.equal(fresh.signalingState, "stable");
});

test("two pages entering at the same time end with one working negotiation", async () => {
  const doctor = page("doctor");
  const member = page("member");
  relay(doctor.socket, member.socket);
  for (const p of [doctor, member]) p.presence(MEMBER, DOCTOR);
  doctor.joined();
  member.joined();
  await settle(60);
  const d = doctor.call.connection;
  const m = member.call.connection;
  assert.equal(d.signalingState, "stable");
  assert.equal(m.signalingState, "stable");
  assert.equal(d.remoteDescription.sdp, m.localDescription.sdp, "the doctor applied the member's current answer");
  assert.equal(m.remoteDescription.sdp, d.localDescription.sdp);
  assert.equal(m.rollbacks, 0, "no glare: the member's page never offered");
  assert.ok(member.types().every((t) => t !== "offer"));
});

test("a drop schedules an ICE restart after 3 s; reconnecting cancels the next ones", async () => {
  const doctor = await doctorInCall();
  const conn = doctor.call.connection;
  assert.equal(doctor.call.state.phase, Phase.CONNECTED);
  conn.setConnectionState("disconnected");
  assert.equal(doctor.call.state.phase, Phase.RECONNECTING);
  doctor.clock.advance(2999);
  assert.equal(conn.iceRestarts, 0);
  doctor.clock.advance(1);
  assert.equal(conn.iceRestarts, 1);
  await settle();
  assert.equal(doctor.types().at(-1), "offer", "the restart's offer went out");
  conn.setConnectionState("connected");
  assert.equal(doctor.call.state.phase, Phase.CONNECTED);
  doctor.clock.advance(60000);
  assert.equal(conn.iceRestarts, 1);
});

test("the member's page leaves ICE restarts to the doctor's", async () => {
  const member = await entered("member");
  member.receive({ type: "offer", sdp: "offer", pc: "doctor-pc-1" });
  await settle();
  const conn = member.call.connection;
  conn.setConnectionState("connected");
  conn.setConnectionState("disconnected");
  member.clock.advance(11999);
  assert.equal(conn.iceRestarts, 0);
});

test("hang-up: bye, the peer connection closed, every local track stopped, later signals ignored", async () => {
  const doctor = await doctorInCall();
  const conn = doctor.call.connection;
  const tracks = doctor.media.stream.getTracks();
  doctor.call.hangUp();
  await settle();
  assert.equal(doctor.types().at(-1), "bye");
  assert.ok(conn.closed);
  assert.equal(doctor.call.connection, null);
  assert.deepEqual(tracks.map((t) => t.readyState), ["ended", "ended"]);
  assert.equal(doctor.media.stream, null);
  assert.equal(doctor.call.state.phase, Phase.ENDED);
  assert.ok(doctor.call.state.hungUp);

  doctor.receive({ type: "restart" });
  doctor.receive({ type: "offer", sdp: "offer", pc: "member-pc-2" });
  doctor.presence(MEMBER, DOCTOR);
  await settle();
  assert.equal(doctor.connections.length, 1, "no new peer connection after the hang-up");
  assert.equal(doctor.call.state.phase, Phase.ENDED);
  doctor.call.hangUp();
  assert.equal(doctor.types().filter((t) => t === "bye").length, 1, "a second hang-up does nothing");
});

test("rejoining after a hang-up gets the camera and microphone again and restarts the call", async () => {
  const doctor = await doctorInCall();
  doctor.call.hangUp();
  await doctor.call.rejoin();
  await settle();
  assert.equal(doctor.devices.given.length, 2, "asked for the media again");
  assert.deepEqual(doctor.media.stream.getTracks().map((t) => t.readyState), ["live", "live"]);
  assert.deepEqual(doctor.types().slice(-3), ["bye", "restart", "offer"]);
  assert.equal(doctor.call.connection.senders[0].track, doctor.media.stream.getTracks()[0]);
  assert.equal(doctor.call.state.hungUp, false);
});

test("hanging up while the camera is being asked for stops it when it comes", async () => {
  const devices = fakeMediaDevices();
  let grant;
  const getUserMedia = devices.getUserMedia;
  devices.getUserMedia = (constraints) => new Promise((resolve) => (grant = () => resolve(getUserMedia(constraints))));
  const doctor = page("doctor", { devices });
  doctor.presence(MEMBER, DOCTOR);
  doctor.joined();
  await settle();
  doctor.call.hangUp();
  grant();
  await settle();
  const [stream] = devices.given;
  assert.deepEqual(stream.getTracks().map((t) => t.readyState), ["ended", "ended"]);
  assert.equal(doctor.media.stream, null);
  assert.equal(doctor.call.state.phase, Phase.ENDED);
  assert.equal(doctor.connections.length, 0);
});

test("a room that is over shows why, asks for no media and offers no hang-up", async () => {
  const member = page("member");
  member.joined({ roomOpen: false, startIn: -3 * 60 * MINUTE });
  await settle();
  const state = member.call.state;
  assert.equal(state.phase, Phase.CLOSED);
  assert.equal(state.status, "closed");
  assert.equal(state.can("hangUp"), false);
  assert.equal(member.devices.given.length, 0);
  member.clock.advance(24 * 60 * MINUTE);
  assert.equal(member.rejoins, 0);
});

test("a cancelled consultation's room says so", async () => {
  const member = page("member");
  member.joined({ roomOpen: false, status: "cancelled" });
  assert.equal(member.call.state.status, "cancelled");
  member.clock.advance(24 * 60 * MINUTE);
  assert.equal(member.rejoins, 0);
});

test("a room not open yet says when it opens and joins again then", async () => {
  const member = page("member");
  member.joined({ roomOpen: false, startIn: 60 * MINUTE });
  const state = member.call.state;
  assert.equal(state.status, "opens_at");
  assert.equal(state.opensAt.getTime(), member.clock.now() + 45 * MINUTE);
  member.clock.advance(45 * MINUTE);
  assert.equal(member.rejoins, 0);
  member.clock.advance(1000);
  assert.equal(member.rejoins, 1);
  member.presence(MEMBER);
  member.joined();
  await settle();
  assert.equal(state.phase, Phase.WAITING);
  assert.ok(state.can("hangUp"));
});

test("the room closing during a call ends it on this page", async () => {
  const doctor = await doctorInCall();
  const conn = doctor.call.connection;
  const tracks = doctor.media.stream.getTracks();
  doctor.joined({ roomOpen: false, startIn: -2 * 60 * MINUTE }); // a rejoin after the window
  assert.ok(conn.closed);
  assert.deepEqual(tracks.map((t) => t.readyState), ["ended", "ended"]);
  assert.equal(doctor.call.state.phase, Phase.CLOSED);
});

test("a signaling rejoin restarts a call that is not connected, and leaves a connected one alone", async () => {
  const doctor = await doctorInCall();
  doctor.joined();
  await settle();
  assert.deepEqual(doctor.types(), ["restart", "offer"], "connected: nothing to do");

  doctor.call.connection.setConnectionState("disconnected");
  doctor.socket.drop();
  doctor.clock.advance(3000); // the ICE restart's offer waits: no signaling
  await settle();
  assert.deepEqual(doctor.types(), ["restart", "offer"]);
  doctor.socket.connected = true;
  doctor.joined();
  await settle();
  assert.deepEqual(doctor.types(), ["restart", "offer", "restart", "offer"], "held signals dropped, a full restart");
  assert.equal(doctor.socket.signals().at(-1).pc, "doctor-pc-2");
  assert.equal(doctor.devices.given.length, 1, "the camera is not asked for again");
});

test("presence: the peer's signaling dropping during a connected call keeps it; otherwise the page waits", async () => {
  const doctor = await doctorInCall();
  doctor.presence(DOCTOR);
  assert.equal(doctor.call.state.phase, Phase.CONNECTED);
  assert.equal(doctor.call.state.status, "peer_offline");
  doctor.call.connection.setConnectionState("connecting");
  doctor.presence(DOCTOR);
  assert.equal(doctor.call.state.phase, Phase.WAITING);
});

test("a denied camera is reported and the call only receives", async () => {
  const member = await entered("member", { devices: fakeMediaDevices({ deny: true }) });
  assert.equal(member.call.state.mediaProblem, "permission_denied");
  assert.equal(member.call.connection.transceivers.length, 2);
  assert.equal(member.call.connection.senders.length, 0);
});
