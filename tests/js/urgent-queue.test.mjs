// The urgent queue's pure logic (static/js/urgent/queue.js): the waiting view's texts and the desk's list.
import assert from "node:assert/strict";
import { test } from "node:test";

import { applyQueueEvent, describeQueue, fill, formatWaited, isTaken, sortQueue } from "../../static/js/urgent/queue.js";

const t = {
  position: "Place {position}",
  estimate: "{low}–{high} min",
  no_doctors: "nobody on duty",
  escalated: "escalated",
};

const queue = (over = {}) => ({
  position: 2,
  estimate_minutes: { low: 0, high: 5 },
  doctors_on_duty: 1,
  escalation_level: 0,
  alternative: null,
  ...over,
});

const request = (id, since, level = 0) => ({
  id,
  specialty: "therapist",
  patient: { name: `P${id}`, age: 30 },
  reason: "",
  waiting_since: since,
  escalation_level: level,
});

test("fill replaces known placeholders and leaves the others", () => {
  assert.equal(fill("{a} and {b}", { a: 1 }), "1 and {b}");
});

test("the waiting view shows the place and the estimate", () => {
  assert.deepEqual(describeQueue(queue(), t), {
    position: "Place 2",
    estimate: "0–5 min",
    escalated: "",
    alternative: null,
  });
});

test("without doctors on duty it says so, and an escalation and an alternative show", () => {
  const alt = { slot_id: 7, start: "2026-01-01T10:00:00+00:00", doctor: { id: 1, name: "D" } };
  const shown = describeQueue(queue({ estimate_minutes: null, escalation_level: 2, alternative: alt }), t);
  assert.equal(shown.estimate, "nobody on duty");
  assert.equal(shown.escalated, "escalated");
  assert.equal(shown.alternative, alt);
});

test("waiting times read as m:ss or h:mm:ss", () => {
  assert.equal(formatWaited(0), "0:00");
  assert.equal(formatWaited(65.7), "1:05");
  assert.equal(formatWaited(3600 + 62), "1:01:02");
  assert.equal(formatWaited(-5), "0:00");
});

test("the queue is oldest first, then by id", () => {
  const items = [request(3, "2026-01-01T10:00:05Z"), request(2, "2026-01-01T10:00:00Z"), request(1, "2026-01-01T10:00:05Z")];
  assert.deepEqual(sortQueue(items).map((r) => r.id), [2, 1, 3]);
});

test("added requests join in order and alert once", () => {
  let state = applyQueueEvent([], { action: "added", request: request(2, "2026-01-01T10:01:00Z") });
  assert.equal(state.alert, true);
  state = applyQueueEvent(state.items, { action: "added", request: request(1, "2026-01-01T10:00:00Z") });
  assert.deepEqual(state.items.map((r) => r.id), [1, 2]);
  const again = applyQueueEvent(state.items, { action: "added", request: request(1, "2026-01-01T10:00:00Z") });
  assert.equal(again.alert, false); // already listed (e.g. read from the API on connecting)
  assert.equal(again.items.length, 2);
});

test("an escalation replaces the item and alerts when its level rose", () => {
  const items = [request(1, "2026-01-01T10:00:00Z")];
  const up = applyQueueEvent(items, { action: "escalated", request: request(1, "2026-01-01T10:00:00Z", 1) });
  assert.equal(up.alert, true);
  assert.equal(up.items[0].escalation_level, 1);
  const same = applyQueueEvent(up.items, { action: "escalated", request: request(1, "2026-01-01T10:00:00Z", 1) });
  assert.equal(same.alert, false);
  const unseen = applyQueueEvent([], { action: "escalated", request: request(5, "2026-01-01T10:00:00Z", 1) });
  assert.equal(unseen.alert, true); // an off-duty doctor hears of it at level 1
});

test("claimed and cancelled requests leave the list quietly; unknown actions change nothing", () => {
  const items = [request(1, "2026-01-01T10:00:00Z"), request(2, "2026-01-01T10:01:00Z")];
  assert.deepEqual(applyQueueEvent(items, { action: "claimed", request: request(1, "") }), {
    items: [items[1]],
    alert: false,
  });
  assert.deepEqual(applyQueueEvent(items, { action: "cancelled", request: request(2, "") }).items, [items[0]]);
  assert.equal(applyQueueEvent(items, { action: "other", request: request(1, "") }).items, items);
});

test("only in_progress turns the waiting view into the room", () => {
  assert.equal(isTaken("in_progress"), true);
  assert.equal(isTaken("waiting"), false);
  assert.equal(isTaken("cancelled"), false);
});
