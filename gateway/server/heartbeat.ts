// The ws heartbeat of every socket, spread over its interval in slices: one tick pinging 20,000 sockets blocked
// the event loop for about a third of a second, so each slice pings only its share and no sweep is one long task.

/** What the heartbeat needs of a socket: one tick (terminate if the last ping went unanswered, else ping). */
export interface Beating {
  heartbeat(): void;
}

/** How often a slice runs at most; an interval shorter than this is one slice. */
export const SLICE_MS = 50;

/**
 * The slices of one heartbeat: every socket of `sockets` gets one heartbeat per `slices` calls, at about the same
 * offset in each round. The sockets present when a round starts are split into `slices` equal parts, one part per
 * call; a socket that joins mid-round waits for the next round, one that left is skipped. So a peer that stops
 * answering is terminated between one and two intervals after its last pong, as with a single sweep.
 */
export function heartbeatSlices(sockets: ReadonlySet<Beating>, slices: number): () => number {
  let round: Beating[] = [];
  let slice = 0;
  return function runSlice(): number {
    if (slice === 0) round = [...sockets];
    const share = Math.ceil(round.length / slices);
    let beaten = 0;
    for (const socket of round.slice(slice * share, (slice + 1) * share)) {
      if (!sockets.has(socket)) continue;
      socket.heartbeat();
      beaten += 1;
    }
    slice = (slice + 1) % slices;
    if (slice === 0) round = [];
    return beaten;
  };
}

/** Runs the slices on a timer: one slice every SLICE_MS or so, `intervalMs` for a whole round. */
export function startHeartbeat(sockets: ReadonlySet<Beating>, intervalMs: number): { stop(): void } {
  const slices = Math.max(1, Math.floor(intervalMs / SLICE_MS));
  const timer = setInterval(heartbeatSlices(sockets, slices), intervalMs / slices);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
