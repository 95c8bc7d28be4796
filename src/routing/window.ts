/** Counts over a sliding window, kept in one-second slots: O(1) per event, no timers. */
export class SlidingCounter {
  private readonly slots: Float64Array;
  private readonly stamps: Float64Array;

  constructor(
    readonly windowMs: number,
    private readonly slotMs = 1000,
  ) {
    const n = Math.max(1, Math.ceil(windowMs / slotMs));
    this.slots = new Float64Array(n);
    this.stamps = new Float64Array(n).fill(-1);
  }

  add(n = 1, now = Date.now()): void {
    const slot = Math.floor(now / this.slotMs);
    const i = slot % this.slots.length;
    if (this.stamps[i] !== slot) {
      this.stamps[i] = slot;
      this.slots[i] = 0;
    }
    this.slots[i] = (this.slots[i] as number) + n;
  }

  total(now = Date.now()): number {
    const current = Math.floor(now / this.slotMs);
    const oldest = current - this.slots.length + 1;
    let sum = 0;
    for (let i = 0; i < this.slots.length; i++) {
      const stamp = this.stamps[i] as number;
      if (stamp >= oldest && stamp <= current) sum += this.slots[i] as number;
    }
    return sum;
  }
}

/**
 * A budget for extra requests (retries, hedges): at most `ratio` × recent requests plus
 * `minPerSecond` × window seconds — so a failing backend is never hit with a storm.
 */
export class ExtraBudget {
  private readonly requests: SlidingCounter;
  private readonly extras: SlidingCounter;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
    windowMs: number,
  ) {
    this.requests = new SlidingCounter(windowMs);
    this.extras = new SlidingCounter(windowMs);
  }

  recordRequest(now = Date.now()): void {
    this.requests.add(1, now);
  }

  /** Takes one extra from the budget if there is room. */
  tryWithdraw(now = Date.now()): boolean {
    const allowed =
      this.ratio * this.requests.total(now) + (this.minPerSecond * this.requests.windowMs) / 1000;
    if (this.extras.total(now) + 1 > allowed) return false;
    this.extras.add(1, now);
    return true;
  }
}
