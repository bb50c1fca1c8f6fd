// Signaling transport of the video room: `signal` events of one consultation over the page's
// Socket.IO connection (shared with the chat).
//
// Signals go out one at a time, each after the server's ack of the previous one, so a `restart`
// and the offer right after it are relayed in that order even across a reconnect or several
// server processes (one connection's events are handled in order). They are sent only while
// joined (the server refuses signals from a connection that has not joined): ones produced during
// a signaling outage wait in the outbox and go out right after the rejoin.

/** How long to wait for the server's ack of a signal before sending the next one anyway. */
export const ACK_TIMEOUT_MS = 5000;

/**
 * @param {object} options
 * @param {object} options.socket a Socket.IO client socket (`connected`, `on`, `timeout(ms).emit`)
 * @param {number} options.consultationId written into every signal as `consultation_id`
 * @returns the transport: `send(data)`, `joined()`, `discardHeld()`, `onSignal(handler)`, `held`
 */
export function createSignalTransport({ socket, consultationId, ackTimeoutMs = ACK_TIMEOUT_MS }) {
  let joined = false;
  let sending = false;
  let outbox = [];

  function pump() {
    if (sending || !joined || !socket.connected || !outbox.length) return;
    sending = true;
    socket.timeout(ackTimeoutMs).emit("signal", outbox.shift(), () => {
      sending = false;
      pump();
    });
  }

  socket.on("disconnect", () => {
    joined = false;
  });

  return {
    /** Queues `data` (a signal without `consultation_id`) and sends it when its turn comes. */
    send(data) {
      outbox.push({ consultation_id: consultationId, ...data });
      pump();
    },
    /** The server accepted this connection's join: held signals may go out. */
    joined() {
      joined = true;
      pump();
    },
    /** Drops the signals not sent yet (a full restart makes them stale). */
    discardHeld() {
      outbox = [];
    },
    /** Calls `handler(signal)` for every signal of this consultation the server relays. */
    onSignal(handler) {
      socket.on("signal", (signal) => {
        if (signal.consultation_id === consultationId) handler(signal);
      });
    },
    /** How many signals wait in the outbox. */
    get held() {
      return outbox.length;
    },
  };
}
