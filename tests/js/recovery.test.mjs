// ICE-restart recovery (static/js/room/recovery.js) with a fake clock.
import assert from "node:assert/strict";
import { test } from "node:test";

import { createRecovery } from "../../static/js/room/recovery.js";
import { fakeClock } from "./fakes.mjs";

/** A peer connection that only counts its ICE restarts. */
function connection(state = "connected") {
  return {
    connectionState: state,
    restarts: [],
    restartIce() {
      this.restarts.push(this.clock.now() - this.since);
    },
  };
}

/** A recovery for one page; `conn.restarts` lists when (ms after `drop`) it restarted ICE. */
function setup({ polite, lastOfferAt = 0 }) {
  const clock = fakeClock();
  const conn = connection();
  conn.clock = clock;
  let current = conn;
  let offerAt = lastOfferAt;
  const recovery = createRecovery({
    polite,
    isCurrent: (c) => c === current,
    lastOfferAt: () => offerAt,
    timers: clock,
    now: clock.now,
  });
  return {
    clock,
    conn,
    recovery,
    drop(state = "disconnected") {
      conn.since = clock.now();
      conn.connectionState = state;
      recovery.connectionState(conn, state);
    },
    replace() {
      current = null;
    },
    offerNow() {
      offerAt = clock.now();
    },
  };
}

test("the doctor's page restarts ICE 3 s after a drop, then again 6 s and every 8 s later", () => {
  const { clock, conn, drop } = setup({ polite: false });
  drop();
  clock.advance(2999);
  assert.deepEqual(conn.restarts, [], "the drop may heal by itself");
  clock.advance(1);
  assert.deepEqual(conn.restarts, [3000]);
  clock.advance(6000 + 8000 + 8000);
  assert.deepEqual(conn.restarts, [3000, 9000, 17000, 25000]);
});

test("the doctor's page restarts at once when the connection failed, then 2, 4, 8 s apart", () => {
  const { clock, conn, drop } = setup({ polite: false });
  drop("failed");
  clock.advance(0);
  assert.deepEqual(conn.restarts, [0]);
  clock.advance(2000 + 4000 + 8000 + 8000);
  assert.deepEqual(conn.restarts, [0, 2000, 6000, 14000, 22000]);
});

test("reconnecting cancels the restarts", () => {
  const { clock, conn, drop, recovery } = setup({ polite: false });
  drop();
  clock.advance(3000);
  assert.equal(conn.restarts.length, 1);
  conn.connectionState = "connected";
  recovery.connectionState(conn, "connected");
  assert.equal(recovery.pending, false);
  clock.advance(60000);
  assert.equal(conn.restarts.length, 1);
});

test("a connection that healed by itself before the timer is not restarted", () => {
  const { clock, conn, drop } = setup({ polite: false });
  drop();
  conn.connectionState = "connected"; // no state event seen yet
  clock.advance(60000);
  assert.deepEqual(conn.restarts, []);
});

test("a replaced peer connection is not restarted, and its retries stop", () => {
  const { clock, conn, drop, replace } = setup({ polite: false });
  drop();
  replace();
  clock.advance(60000);
  assert.deepEqual(conn.restarts, []);
  assert.equal(clock.pending, 0);
});

test("the member's page restarts ICE itself only 12 s after a drop", () => {
  const { clock, conn, drop } = setup({ polite: true });
  drop();
  clock.advance(11999);
  assert.deepEqual(conn.restarts, []);
  clock.advance(1);
  assert.deepEqual(conn.restarts, [12000]);
  clock.advance(12000);
  assert.deepEqual(conn.restarts, [12000, 24000]);
});

test("the member's page does not restart while the doctor's page offers (no glare)", () => {
  const { clock, conn, drop, offerNow } = setup({ polite: true });
  drop();
  clock.advance(3000);
  offerNow(); // the doctor's page's ICE restarts: 3 s after the drop, then every 8 s
  for (let i = 0; i < 7; i += 1) {
    clock.advance(8000);
    offerNow();
  }
  assert.deepEqual(conn.restarts, [], "checked at 12, 24, 36 and 48 s: an offer came less than 10 s before");
  // the last offer came at 59 s; the checks at 60 s and 72 s: the second finds 13 s of silence
  clock.advance(13000);
  assert.deepEqual(conn.restarts, [72000]);
});
