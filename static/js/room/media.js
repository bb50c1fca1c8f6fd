// The page's camera and microphone: asked for once, stopped on hang-up, asked for again on rejoin.

/** What the room asks for: sound and the front camera. */
export const CONSTRAINTS = { audio: true, video: { facingMode: "user" } };

/** The i18n key that explains a getUserMedia error. */
export function problemOf(err) {
  if (err && err.name === "NotAllowedError") return "permission_denied";
  if (err && err.name === "NotFoundError") return "no_devices";
  return "media_error";
}

/**
 * @param {object} options
 * @param {MediaDevices|undefined} options.mediaDevices `navigator.mediaDevices` (absent: no WebRTC)
 * @param {(stream: MediaStream|null) => void} [options.onChange] after the stream or its tracks changed
 */
export function createLocalMedia({ mediaDevices, onChange = () => {} }) {
  let stream = null;
  let acquisition = null; // the one under way or done since the last release: a promise of its problem
  let videoDevices = [];
  let cameraIndex = 0;
  let generation = 0; // bumped by release(): an acquisition still under way is then dropped

  /**
   * Asks for the camera and microphone, once until `release()`: later calls get the same answer.
   * Resolves to null when they are in use, else to the i18n key of the problem (the call then
   * only receives). Never rejects.
   */
  function acquire() {
    if (!acquisition) acquisition = ask(generation);
    return acquisition;
  }

  async function ask(mine) {
    if (!mediaDevices || !mediaDevices.getUserMedia) return "no_webrtc";
    let fresh;
    try {
      fresh = await mediaDevices.getUserMedia(CONSTRAINTS);
    } catch (err) {
      return problemOf(err);
    }
    if (mine !== generation) {
      for (const track of fresh.getTracks()) track.stop(); // released meanwhile (hung up)
      return null;
    }
    stream = fresh;
    try {
      const devices = await mediaDevices.enumerateDevices();
      videoDevices = devices.filter((device) => device.kind === "videoinput");
    } catch {
      videoDevices = []; // no switching between cameras
    }
    if (mine !== generation) return null; // released meanwhile: release() stopped the tracks
    cameraIndex = 0;
    onChange(stream);
    return null;
  }

  /** Stops every local track (the camera light goes off); the next `acquire()` asks again. */
  function release() {
    generation += 1;
    acquisition = null;
    if (stream) for (const track of stream.getTracks()) track.stop();
    stream = null;
    onChange(null);
  }

  /** Turns the audio or video tracks on or off; returns whether they are off now (null without media). */
  function toggle(kind) {
    if (!stream) return null;
    const tracks = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    for (const track of tracks) track.enabled = !track.enabled;
    return isOff(kind);
  }

  /** Whether the audio or video tracks are turned off. */
  function isOff(kind) {
    if (!stream) return false;
    const tracks = kind === "audio" ? stream.getAudioTracks() : stream.getVideoTracks();
    return tracks.length > 0 && !tracks[0].enabled;
  }

  /** Moves to the next camera; `conn` (the peer connection, if any) sends the new track at once. */
  async function switchCamera(conn) {
    if (!stream || videoDevices.length < 2) return;
    cameraIndex = (cameraIndex + 1) % videoDevices.length;
    const deviceId = videoDevices[cameraIndex].deviceId;
    const fresh = await mediaDevices.getUserMedia({ video: { deviceId: { exact: deviceId } } });
    const track = fresh.getVideoTracks()[0];
    const old = stream.getVideoTracks()[0];
    if (conn) {
      const sender = conn.getSenders().find((s) => s.track && s.track.kind === "video");
      if (sender) await sender.replaceTrack(track);
    }
    stream.removeTrack(old);
    old.stop();
    stream.addTrack(track);
    onChange(stream);
  }

  return {
    acquire,
    release,
    toggle,
    isOff,
    switchCamera,
    /** The camera and microphone stream, or null. */
    get stream() {
      return stream;
    },
    /** Whether there is another camera to switch to. */
    get canSwitchCamera() {
      return stream !== null && videoDevices.length >= 2;
    },
  };
}
