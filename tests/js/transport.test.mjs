// The signaling transport (static/js/room/transport.js) over a fake socket.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createSignalTransport } from "../../static/js/room/transport.js";
import { FakeSocket } from "./fakes.mjs";

function setup() {
  const socket = new FakeSocket();
  socket.autoAck = false;
  const transport = createSignalTransport({ socket, consultationId: 7 });
  return { socket, transport };
}

test("signals go out one at a time, each after the ack of the previous one", () => {
  const { socket, transport } = setup();
  transport.joined();
  transport.send({ type: "restart" });
  transport.send({ type: "offer", sdp: "o", pc: "a" });
  assert.deepEqual(socket.signals(), [{ consultation_id: 7, type: "restart" }]);
  socket.ackNext();
  assert.deepEqual(socket.signals(), [
    { consultation_id: 7, type: "restart" },
    { consultation_id: 7, type: "offer", sdp: "o", pc: "a" },
  ]);
  assert.equal(transport.held, 0);
});

test("signals wait while not joined and go out after the (re)join", () => {
  const { socket, transport } = setup();
  transport.send({ type: "candidate", candidate: null });
  assert.deepEqual(socket.signals(), []);
  transport.joined();
  assert.equal(socket.signals().length, 1);
  socket.ackNext();

  socket.drop();
  transport.send({ type: "bye" });
  assert.equal(socket.signals().length, 1, "not sent while disconnected");
  socket.connected = true; // reconnected, not joined yet
  transport.send({ type: "restart" });
  assert.equal(socket.signals().length, 1, "not sent before the join");
  transport.joined();
  socket.ackNext();
  assert.deepEqual(socket.signals().slice(1).map((s) => s.type), ["bye", "restart"]);
});

test("held signals can be discarded (a full restart makes them stale)", () => {
  const { socket, transport } = setup();
  transport.send({ type: "answer", sdp: "stale" });
  transport.discardHeld();
  transport.joined();
  assert.deepEqual(socket.signals(), []);
});

test("only this consultation's signals reach the handler", () => {
  const { socket, transport } = setup();
  const seen = [];
  transport.onSignal((s) => seen.push(s.type));
  socket.receive("signal", { consultation_id: 8, type: "offer" });
  socket.receive("signal", { consultation_id: 7, type: "answer" });
  assert.deepEqual(seen, ["answer"]);
});
