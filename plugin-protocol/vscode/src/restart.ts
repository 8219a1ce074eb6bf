/**
 * When to restart a server that exited on its own: after a growing delay, so a server that dies at start-up
 * does not spin, and not at all once it has failed too often in a short time, when a person has to look.
 */

export type RestartDecision = { action: "restart"; delayMs: number } | { action: "giveUp"; crashes: number };

export class RestartPolicy {
  private crashes: number[] = [];

  constructor(
    private readonly delaysMs: readonly number[] = [500, 2000, 5000, 10000, 20000],
    private readonly windowMs: number = 3 * 60 * 1000,
    private readonly maxCrashes: number = 5,
  ) {}

  /** What to do about a crash at `now` (ms), counting the crashes of the last few minutes. */
  crashed(now: number): RestartDecision {
    this.crashes = this.crashes.filter((at) => now - at < this.windowMs);
    this.crashes.push(now);
    const count = this.crashes.length;
    if (count > this.maxCrashes) {
      return { action: "giveUp", crashes: count };
    }
    const delayMs = this.delaysMs[Math.min(count, this.delaysMs.length) - 1] ?? 0;
    return { action: "restart", delayMs };
  }

  /** Forget past crashes: the person restarted the server or changed its settings. */
  reset(): void {
    this.crashes = [];
  }
}
