// Connection quality shown beside the title: from the round-trip time of the nominated candidate
// pair and the loss of the incoming video.

/**
 * The quality told by `stats` (an RTCStatsReport, or any iterable with `forEach` over reports).
 * @returns {{level: "good"|"fair"|"poor", rttMs: number|null}}
 */
export function qualityFromStats(stats) {
  let rtt = null;
  let lost = 0;
  let received = 0;
  stats.forEach((report) => {
    if (report.type === "candidate-pair" && report.nominated && report.currentRoundTripTime !== undefined) {
      rtt = report.currentRoundTripTime;
    }
    if (report.type === "inbound-rtp" && report.kind === "video") {
      lost += report.packetsLost || 0;
      received += report.packetsReceived || 0;
    }
  });
  const loss = received + lost ? lost / (received + lost) : 0;
  const level = rtt === null ? "good"
    : rtt > 0.4 || loss > 0.08 ? "poor"
      : rtt > 0.2 || loss > 0.03 ? "fair" : "good";
  return { level, rttMs: rtt === null ? null : Math.round(rtt * 1000) };
}

/** The quality of `conn` when it is connected, else null. */
export async function measureQuality(conn) {
  if (!conn || conn.connectionState !== "connected") return null;
  return qualityFromStats(await conn.getStats());
}
