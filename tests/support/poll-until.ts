// Waits for a condition only time can bring about (a Redis TTL or lease running out): testing/poll-until.ts, which
// testing/redis-nodes.ts shares.
export { pollUntil } from '../../testing/poll-until';
