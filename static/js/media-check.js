// The pre-call check (templates/video/check.html): camera and microphone -> WebRTC -> the server's
// echo peer -> back into the page. The page shows the echoed video, the microphone level, the
// round-trip time and packet loss (from getStats), and a plain verdict.
//
// Machine-readable state on #media-check, for tests:
//   data-state    idle | media | connecting | connected | interrupted | ended | error
//   data-verdict  none | pending | ok | weak | nosound | novideo | denied | nodevice | device_busy |
//                 unsupported | server_busy | rate_limited | session | failed | lost | error
//   data-rtt-ms, data-loss-pct, data-audio-level (local microphone, 0-100)
(function () {
  "use strict";

  const STATS_EVERY_MS = 1000;
  const WINDOW_MS = 5000; // the verdict looks at the last 5 seconds
  const FIRST_VERDICT_MS = 4000; // ... and is first given this long after connecting
  const NO_VIDEO_MS = 8000;
  const CONNECT_TIMEOUT_MS = 20000;
  const GATHER_TIMEOUT_MS = 5000;
  const WEAK_RTT_MS = 300;
  const WEAK_LOSS_PCT = 3;
  const SILENT_LEVEL = 2; // percent of the meter

  class CheckError extends Error {
    constructor(code) {
      super(code);
      this.code = code;
    }
  }

  function mediaErrorCode(err) {
    switch (err && err.name) {
      case "NotAllowedError":
      case "PermissionDeniedError":
      case "SecurityError":
        return "denied";
      case "NotFoundError":
      case "DevicesNotFoundError":
      case "OverconstrainedError":
        return "nodevice";
      case "NotReadableError":
      case "TrackStartError":
      case "AbortError":
        return "device_busy";
      default:
        return "error";
    }
  }

  function iceGathered(pc, timeoutMs) {
    // The server answers only complete descriptions (no trickle ICE), so wait for the candidates.
    if (pc.iceGatheringState === "complete") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        pc.removeEventListener("icegatheringstatechange", check);
        resolve();
      };
      const check = () => {
        if (pc.iceGatheringState === "complete") done();
      };
      const timer = setTimeout(done, timeoutMs);
      pc.addEventListener("icegatheringstatechange", check);
    });
  }

  function readStats(report) {
    let pairId = null;
    let lost = 0;
    let received = 0;
    let remoteLoss = 0;
    let remoteRtt = null;
    const pairs = [];
    report.forEach((s) => {
      if (s.type === "transport" && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId;
      else if (s.type === "candidate-pair") pairs.push(s);
      else if (s.type === "inbound-rtp") {
        lost += Math.max(0, s.packetsLost || 0);
        received += s.packetsReceived || 0;
      } else if (s.type === "remote-inbound-rtp") {
        remoteLoss = Math.max(remoteLoss, s.fractionLost || 0);
        if (typeof s.roundTripTime === "number") remoteRtt = s.roundTripTime;
      }
    });
    const pair = (pairId && report.get(pairId)) || pairs.find((p) => p.nominated && p.state === "succeeded");
    let rtt = pair && typeof pair.currentRoundTripTime === "number" ? pair.currentRoundTripTime : remoteRtt;
    return { rttMs: rtt === null || rtt === undefined ? null : rtt * 1000, lost, received, remoteLossPct: remoteLoss * 100 };
  }

  function init(root) {
    const cfg = JSON.parse(root.querySelector(".mc-config").textContent);
    const t = JSON.parse(root.querySelector(".mc-i18n").textContent);
    const el = {
      local: root.querySelector(".mc-local"),
      remote: root.querySelector(".mc-remote"),
      level: root.querySelector(".mc-level"),
      levelBar: root.querySelector(".mc-level span"),
      status: root.querySelector(".mc-status"),
      rtt: root.querySelector(".mc-rtt"),
      loss: root.querySelector(".mc-loss"),
      verdict: root.querySelector(".mc-verdict"),
      start: root.querySelector(".mc-start"),
      stop: root.querySelector(".mc-stop"),
      hear: root.querySelector(".mc-hear input"),
    };
    const lang = document.documentElement.lang || undefined;
    let run = null; // the current attempt

    function setState(state, text) {
      root.dataset.state = state;
      el.status.textContent = text;
    }

    function setVerdict(code, text) {
      root.dataset.verdict = code;
      el.verdict.textContent = text === undefined ? t[code] || t.error : text;
    }

    function setLevel(pct) {
      el.levelBar.style.width = pct + "%";
      el.level.setAttribute("aria-valuenow", String(pct));
      root.dataset.audioLevel = String(pct);
    }

    function number(value, digits) {
      return value.toLocaleString(lang, { maximumFractionDigits: digits, minimumFractionDigits: digits });
    }

    async function start() {
      if (run) return;
      const r = { pc: null, stream: null, audioCtx: null, timers: [], samples: [], peak: 0, connectedAt: 0 };
      run = r;
      el.start.hidden = true;
      el.stop.hidden = false;
      el.rtt.textContent = el.loss.textContent = "—";
      delete root.dataset.rttMs;
      delete root.dataset.lossPct;
      setVerdict("pending", "");
      try {
        if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
          throw new CheckError("unsupported");
        }
        const Ctx = window.AudioContext || window.webkitAudioContext;
        if (Ctx) r.audioCtx = new Ctx(); // created inside the click, so it may run
        setState("media", t.state_media);
        try {
          r.stream = await navigator.mediaDevices.getUserMedia({
            audio: { echoCancellation: true, noiseSuppression: true },
            video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15, max: 30 }, facingMode: "user" },
          });
        } catch (err) {
          throw new CheckError(mediaErrorCode(err));
        }
        if (run !== r) return stopTracks(r.stream);
        el.local.srcObject = r.stream;
        startMeter(r);
        setState("connecting", t.state_connecting);
        await connect(r);
      } catch (err) {
        fail(r, err);
      }
    }

    function startMeter(r) {
      if (!r.audioCtx || !r.stream.getAudioTracks().length) return;
      const analyser = r.audioCtx.createAnalyser();
      analyser.fftSize = 1024;
      r.audioCtx.createMediaStreamSource(r.stream).connect(analyser);
      if (r.audioCtx.state === "suspended") r.audioCtx.resume().catch(() => {});
      const buf = new Float32Array(analyser.fftSize);
      r.timers.push(setInterval(() => {
        analyser.getFloatTimeDomainData(buf);
        let sum = 0;
        for (const v of buf) sum += v * v;
        const pct = Math.min(100, Math.round(Math.sqrt(sum / buf.length) * 300));
        r.peak = Math.max(r.peak, pct);
        setLevel(pct);
      }, 100));
    }

    async function connect(r) {
      const pc = new RTCPeerConnection({ iceServers: cfg.iceServers, bundlePolicy: "max-bundle" });
      r.pc = pc;
      const remote = new MediaStream();
      pc.ontrack = (ev) => {
        remote.addTrack(ev.track);
        if (el.remote.srcObject !== remote) el.remote.srcObject = remote;
        el.remote.play().catch(() => {}); // muted, so autoplay is allowed
      };
      pc.onconnectionstatechange = () => onConnectionState(r);
      r.stream.getTracks().forEach((track) => pc.addTrack(track, r.stream));
      await pc.setLocalDescription(await pc.createOffer());
      await iceGathered(pc, GATHER_TIMEOUT_MS);
      if (run !== r) return;
      // End a little before the server's own time limit, so the page says why it stopped.
      r.timers.push(setTimeout(() => run === r && hangUp(), Math.max(5, cfg.timeLimitS - 2) * 1000));
      r.timers.push(setTimeout(() => run === r && !r.connectedAt && fail(r, new CheckError("failed")),
        CONNECT_TIMEOUT_MS));
      const answer = await postOffer(pc.localDescription);
      if (run !== r) return; // hung up meanwhile: the server peer closes at its time limit
      await pc.setRemoteDescription(answer);
    }

    async function postOffer(desc) {
      const meta = document.querySelector('meta[name="csrf-token"]');
      let res;
      try {
        res = await fetch(cfg.offerUrl, {
          method: "POST",
          credentials: "same-origin",
          headers: { "Content-Type": "application/json", "X-CSRFToken": meta ? meta.content : "" },
          body: JSON.stringify({ sdp: desc.sdp, type: desc.type }),
        });
      } catch (err) {
        throw new CheckError("lost");
      }
      if (res.ok) return res.json();
      const codes = { 401: "session", 429: "rate_limited", 503: "server_busy" };
      throw new CheckError(codes[res.status] || "error");
    }

    function onConnectionState(r) {
      if (run !== r) return;
      const state = r.pc.connectionState;
      if (state === "connected") {
        if (!r.connectedAt) {
          r.connectedAt = performance.now();
          setVerdict("pending", t.measuring);
          r.timers.push(setInterval(() => sample(r), STATS_EVERY_MS));
        }
        setState("connected", t.state_connected);
      } else if (state === "disconnected") {
        setState("interrupted", t.state_interrupted);
      } else if (state === "failed" || state === "closed") {
        fail(r, new CheckError(r.connectedAt ? "lost" : "failed"));
      }
    }

    async function sample(r) {
      let stats;
      try {
        stats = readStats(await r.pc.getStats());
      } catch (err) {
        return; // closed meanwhile
      }
      if (run !== r) return;
      const now = performance.now();
      r.samples.push({ at: now, level: r.peak, ...stats });
      r.peak = 0;
      r.samples = r.samples.filter((s) => now - s.at <= WINDOW_MS);
      const first = r.samples[0];
      const last = r.samples[r.samples.length - 1];
      const rtts = r.samples.map((s) => s.rttMs).filter((v) => v !== null);
      const rtt = rtts.length ? rtts.reduce((a, b) => a + b, 0) / rtts.length : null;
      const lost = last.lost - first.lost;
      const total = lost + last.received - first.received;
      const loss = Math.max(total > 0 ? (100 * Math.max(0, lost)) / total : 0, last.remoteLossPct);
      if (last.rttMs !== null) {
        root.dataset.rttMs = String(Math.round(last.rttMs));
        el.rtt.textContent = number(Math.round(last.rttMs), 0) + " " + t.ms;
      }
      root.dataset.lossPct = loss.toFixed(1);
      el.loss.textContent = number(loss, 1) + " %";
      judge(r, now - r.connectedAt, rtt, loss, Math.max(...r.samples.map((s) => s.level)));
    }

    function judge(r, elapsed, rtt, loss, level) {
      if (elapsed < FIRST_VERDICT_MS) return;
      const hasVideo = el.remote.videoWidth > 0;
      if (!hasVideo) {
        if (elapsed >= NO_VIDEO_MS) setVerdict("novideo");
      } else if (rtt === null) {
        // no round-trip measurement yet: keep measuring
      } else if (rtt > WEAK_RTT_MS || loss > WEAK_LOSS_PCT) {
        setVerdict("weak");
      } else if (r.audioCtx && level < SILENT_LEVEL) {
        setVerdict("nosound");
      } else {
        setVerdict("ok");
      }
    }

    function stopTracks(stream) {
      if (stream) stream.getTracks().forEach((track) => track.stop());
    }

    function release(r) {
      r.timers.forEach((id) => clearInterval(id));
      if (r.pc) {
        r.pc.ontrack = r.pc.onconnectionstatechange = null;
        r.pc.close();
      }
      stopTracks(r.stream);
      if (r.audioCtx) r.audioCtx.close().catch(() => {});
      el.local.srcObject = null;
      el.remote.srcObject = null;
      setLevel(0);
      el.stop.hidden = true;
      el.start.hidden = false;
      el.start.textContent = t.again;
    }

    function hangUp() {
      const r = run;
      if (!r) return;
      run = null;
      release(r);
      setState("ended", t.state_ended);
      if (root.dataset.verdict === "pending") setVerdict("none", t.cut_short);
    }

    function fail(r, err) {
      if (run !== r) return;
      run = null;
      release(r);
      if (!(err instanceof CheckError)) console.error("media check failed", err);
      setState("error", t.state_error);
      setVerdict(err instanceof CheckError ? err.code : "error");
    }

    el.start.addEventListener("click", start);
    el.start.disabled = false; // rendered disabled, so nothing is clicked before this script runs
    el.stop.addEventListener("click", hangUp);
    el.hear.addEventListener("change", () => {
      el.remote.muted = !el.hear.checked;
    });
    window.addEventListener("pagehide", hangUp);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("media-check");
    if (root) init(root);
  });
})();
