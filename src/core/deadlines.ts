/**
 * Request deadlines without a timer per request: deadlines of the same length are due in the order
 * they were armed, so each length keeps one list in that order and one timer for its head. Arming and
 * disarming a deadline is a list insertion and removal.
 */

/** What a deadline aborts when it passes. */
export interface DeadlineTarget {
  deadlineExpired(timeoutMs: number): void;
}

/** One armed deadline, linked into the queue of deadlines of the same length. */
export interface DeadlineEntry {
  readonly target: DeadlineTarget;
  readonly timeoutMs: number;
  /** `performance.now()` when it is due. */
  readonly due: number;
  queue: DeadlineQueue | undefined;
  prev: DeadlineEntry | undefined;
  next: DeadlineEntry | undefined;
}

/** A timer may fire this early by the event loop's millisecond clock; entries due that soon are due. */
const TIMER_SLACK_MS = 1;

/** The deadlines of one length, in the order they are due, served by one timer armed for the earliest. */
class DeadlineQueue {
  private head: DeadlineEntry | undefined;
  private tail: DeadlineEntry | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly fire = () => this.expire();

  get empty(): boolean {
    return this.head === undefined;
  }

  add(e: DeadlineEntry): void {
    e.queue = this;
    e.prev = this.tail;
    if (this.tail) this.tail.next = e;
    else this.head = e;
    this.tail = e;
    if (!this.timer) this.arm(e.due - performance.now());
  }

  remove(e: DeadlineEntry): void {
    if (e.prev) e.prev.next = e.next;
    else this.head = e.next;
    if (e.next) e.next.prev = e.prev;
    else this.tail = e.prev;
    e.queue = e.prev = e.next = undefined;
    // The timer stays armed for the old head (never later than the new one) unless nothing is left.
    if (!this.head && this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, Math.max(0, ms));
    this.timer.unref();
  }

  private expire(): void {
    this.timer = undefined;
    const now = performance.now();
    for (let e = this.head; e && e.due <= now + TIMER_SLACK_MS; e = this.head) {
      this.remove(e);
      e.target.deadlineExpired(e.timeoutMs);
    }
    if (this.head && !this.timer) this.arm(this.head.due - now);
  }
}

/** Deadline queues by length; empty ones are dropped once there are many (lengths from headers vary). */
const queues = new Map<number, DeadlineQueue>();
const MAX_QUEUES = 64;

function queueFor(timeoutMs: number): DeadlineQueue {
  let q = queues.get(timeoutMs);
  if (!q) {
    if (queues.size >= MAX_QUEUES) {
      for (const [ms, other] of queues) if (other.empty) queues.delete(ms);
    }
    q = new DeadlineQueue();
    queues.set(timeoutMs, q);
  }
  return q;
}

/** Arms a deadline: `target.deadlineExpired(timeoutMs)` is called once it passes, unless disarmed first. */
export function armDeadline(target: DeadlineTarget, timeoutMs: number): DeadlineEntry {
  const entry: DeadlineEntry = {
    target,
    timeoutMs,
    due: performance.now() + timeoutMs,
    queue: undefined,
    prev: undefined,
    next: undefined,
  };
  queueFor(timeoutMs).add(entry);
  return entry;
}

export function disarmDeadline(entry: DeadlineEntry): void {
  entry.queue?.remove(entry);
}
