// Waits for a condition only time can bring about (a Redis TTL or lease running out), with a bounded deadline.

/** Re-checks `condition` every `intervalMs` until it holds; rejects after `timeoutMs`. */
export async function pollUntil(
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 3000,
  intervalMs = 20,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`${what} did not hold within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
