// The urgent queue's pure logic, shared by the waiting view (waiting.js) and the duty desk
// (desk.js): what a waiting member reads about their place, and the desk's list kept up to date
// by `urgent_queue` events. Knows no DOM.

/** Fills `{name}` placeholders of a translated text. */
export function fill(text, values) {
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
}

/**
 * What the waiting view shows for a request's `queue` (`{position, estimate_minutes, doctors_on_duty,
 * escalation_level, alternative}`, as the `join` ack and `urgent_status` carry it).
 *
 * @param {object} queue
 * @param {Record<string, string>} t translated texts: position, estimate, no_doctors, escalated
 * @returns {{position: string, estimate: string, escalated: string, alternative: object|null}}
 */
export function describeQueue(queue, t) {
  const estimate = queue.estimate_minutes;
  return {
    position: fill(t.position, { position: queue.position }),
    estimate: estimate ? fill(t.estimate, { low: estimate.low, high: estimate.high }) : t.no_doctors,
    escalated: queue.escalation_level >= 1 ? t.escalated : "",
    alternative: queue.alternative || null,
  };
}

/** How long someone has waited, `m:ss` or `h:mm:ss`, from whole seconds (never negative). */
export function formatWaited(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = String(s % 60).padStart(2, "0");
  return h ? `${h}:${String(m).padStart(2, "0")}:${rest}` : `${m}:${rest}`;
}

/** Oldest first, as the server serves them (then by id). */
export function sortQueue(items) {
  return [...items].sort(
    (a, b) => Date.parse(a.waiting_since) - Date.parse(b.waiting_since) || a.id - b.id,
  );
}

/**
 * The desk's list after an `urgent_queue` event `{action, request}`: `added` and `escalated` put the
 * request in (replacing an older copy), `claimed` and `cancelled` take it out.
 *
 * @returns {{items: object[], alert: boolean}} `alert`: the doctor should hear of it (a request they
 *   had not seen, or one that escalated)
 */
export function applyQueueEvent(items, event) {
  const request = event.request;
  const others = items.filter((item) => item.id !== request.id);
  switch (event.action) {
    case "added":
    case "escalated": {
      const known = items.find((item) => item.id === request.id);
      const alert = event.action === "escalated" ? !known || known.escalation_level < request.escalation_level : !known;
      return { items: sortQueue([...others, request]), alert };
    }
    case "claimed":
    case "cancelled":
      return { items: others, alert: false };
    default:
      return { items, alert: false };
  }
}

/** Whether a consultation status means the waiting view should turn into the video room. */
export function isTaken(status) {
  return status === "in_progress";
}
