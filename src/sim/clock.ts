/**
 * One shared timer for everything an engine waits on (prefill, decode steps, delays, embedding calls).
 * Tasks sit in a min-heap by due time; a single `setTimeout` (or `setImmediate` when something is
 * already due) wakes the loop, which runs every due task. A task that falls behind catches up in the
 * same wake-up, so average rates hold even though Node timers have millisecond granularity.
 */

export interface ClockTask {
  /** Called once at (or after) `due`; `due` is the logical time it was scheduled for. */
  fire(due: number): void;
}

interface Entry {
  due: number;
  order: number;
  task: ClockTask;
  cancelled: boolean;
}

/** What `at` returns, for `cancel`. */
export type ClockHandle = Readonly<Pick<Entry, "due">>;

/** Tasks run per wake-up before yielding to I/O, so a zero-latency flood cannot starve sockets. */
const BUDGET_PER_WAKE = 2048;

export class SharedClock {
  private readonly heap: Entry[] = [];
  private order = 0;
  private timer: NodeJS.Timeout | undefined;
  private immediate: NodeJS.Immediate | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private closed = false;
  /** Entries not cancelled; when none is left the timer is stopped at once. */
  private live = 0;

  now(): number {
    return performance.now();
  }

  /** Runs `task.fire` at `due` (a `now()` time). Cancellation is the task's business: it ignores the call. */
  at(due: number, task: ClockTask): ClockHandle {
    const entry: Entry = { due, order: this.order++, task, cancelled: this.closed };
    if (this.closed) return entry;
    this.push(entry);
    this.live++;
    if (due < this.armedFor) this.arm();
    return entry;
  }

  /** Drops a scheduled task; with nothing else pending, no timer stays armed. */
  cancel(handle: ClockHandle | undefined): void {
    const entry = handle as Entry | undefined;
    if (!entry || entry.cancelled) return;
    entry.cancelled = true;
    if (--this.live === 0) {
      this.heap.length = 0;
      this.disarm();
    }
  }

  get pending(): number {
    return this.live;
  }

  close(): void {
    this.closed = true;
    this.heap.length = 0;
    this.live = 0;
    this.disarm();
  }

  private readonly run = (): void => {
    this.timer = undefined;
    this.immediate = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    const now = this.now();
    let budget = BUDGET_PER_WAKE;
    while (budget-- > 0 && this.heap.length > 0 && this.heap[0]!.due <= now) {
      const entry = this.pop();
      if (entry.cancelled) continue;
      entry.cancelled = true;
      this.live--;
      entry.task.fire(entry.due);
    }
    if (this.heap.length > 0) this.arm();
  };

  private arm(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    const top = this.heap[0];
    if (!top || this.closed) return;
    this.disarm();
    this.armedFor = top.due;
    const delay = top.due - this.now();
    if (delay <= 0) this.immediate = setImmediate(this.run);
    else this.timer = setTimeout(this.run, Math.ceil(delay));
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.immediate) clearImmediate(this.immediate);
    this.timer = undefined;
    this.immediate = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private push(entry: Entry): void {
    const h = this.heap;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): Entry {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length === 0) return top;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && before(h[l]!, h[m]!)) m = l;
      if (r < h.length && before(h[r]!, h[m]!)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
    return top;
  }
}

function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.order < b.order);
}

/** A one-shot delay on the shared clock that can be cancelled. */
export class ClockDelay implements ClockTask {
  private readonly handle: ClockHandle;

  constructor(
    private readonly clock: SharedClock,
    delayMs: number,
    private readonly done: () => void,
  ) {
    this.handle = clock.at(clock.now() + delayMs, this);
  }

  fire(): void {
    this.done();
  }

  cancel(): void {
    this.clock.cancel(this.handle);
  }
}
