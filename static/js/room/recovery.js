// Recovery of a dropped media path: ICE restarts while the peer connection is disconnected or
// failed, retried until it is connected again, without reloading the page.
//
// The doctor's page makes them: the first 3 s after the drop (it may heal by itself), at once
// when the connection failed, then again every few seconds (up to 8 s apart), since one made
// while the network (or the TURN server) is still away gathers no candidates and cannot succeed.
// The member's page restarts only as a fallback, when no offer has come for a while: when both
// offer at once, the member's page rolls its offer back, and Chromium then stops rendering the
// remote video although it is still received and decoded.

/** The doctor's page: the first restart after a drop (a failure restarts at once). */
export const FIRST_RESTART_MS = 3000;
/** The doctor's page: restarts are retried with a doubling delay of at least 1 s, up to this. */
export const MAX_RETRY_MS = 8000;
/** The member's page: how often it checks whether it must restart itself. */
export const FALLBACK_CHECK_MS = 12000;
/** The member's page restarts only when the doctor's page has sent no offer for this long. */
export const OFFER_SILENCE_MS = 10000;

/**
 * @param {object} options
 * @param {boolean} options.polite true on the member's page
 * @param {(conn: object) => boolean} options.isCurrent whether `conn` is still the call's peer connection
 * @param {() => number} options.lastOfferAt when the other page's last offer came (ms of `now`)
 * @param {{setTimeout: Function, clearTimeout: Function}} [options.timers]
 * @param {() => number} [options.now] the clock, in ms
 * @returns `connectionState(conn, state)` to call on every state change, `cancel()`, `pending`
 */
export function createRecovery({ polite, isCurrent, lastOfferAt, timers = globalThis, now = Date.now }) {
  let timer = null;

  function cancel() {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
  }

  function schedule(conn, delay) {
    cancel();
    timer = timers.setTimeout(() => {
      timer = null;
      if (!isCurrent(conn) || conn.connectionState === "connected") return;
      if (!polite || now() - lastOfferAt() > OFFER_SILENCE_MS) conn.restartIce();
      schedule(conn, polite ? FALLBACK_CHECK_MS : Math.min(Math.max(delay, 1000) * 2, MAX_RETRY_MS));
    }, delay);
  }

  return {
    /** Follows the peer connection's `connectionState`: restarts are scheduled or cancelled. */
    connectionState(conn, state) {
      if (state === "connected") cancel();
      else if (state === "disconnected" || state === "failed") {
        schedule(conn, polite ? FALLBACK_CHECK_MS : state === "failed" ? 0 : FIRST_RESTART_MS);
      }
    },
    cancel,
    /** Whether a restart (or the member's check) is scheduled. */
    get pending() {
      return timer !== null;
    },
  };
}
