// The connection quality label's level (static/js/room/quality.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { measureQuality, qualityFromStats } from "../../static/js/room/quality.js";

const pair = (rtt) => ({ type: "candidate-pair", nominated: true, currentRoundTripTime: rtt });
const video = (received, lost) => ({ type: "inbound-rtp", kind: "video", packetsReceived: received, packetsLost: lost });

test("the level follows the round-trip time and the video loss", () => {
  assert.deepEqual(qualityFromStats([pair(0.05), video(1000, 0)]), { level: "good", rttMs: 50 });
  assert.deepEqual(qualityFromStats([pair(0.25), video(1000, 0)]), { level: "fair", rttMs: 250 });
  assert.deepEqual(qualityFromStats([pair(0.5)]), { level: "poor", rttMs: 500 });
  assert.equal(qualityFromStats([pair(0.05), video(950, 50)]).level, "fair");
  assert.equal(qualityFromStats([pair(0.05), video(900, 100)]).level, "poor");
  assert.deepEqual(qualityFromStats([{ type: "candidate-pair", nominated: false, currentRoundTripTime: 1 }]), {
    level: "good",
    rttMs: null,
  });
});

test("only a connected peer connection is measured", async () => {
  assert.equal(await measureQuality(null), null);
  const stats = async () => [pair(0.3)];
  assert.equal(await measureQuality({ connectionState: "disconnected", getStats: stats }), null);
  assert.equal((await measureQuality({ connectionState: "connected", getStats: stats })).level, "fair");
});
