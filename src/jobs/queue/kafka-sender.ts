/**
 * One send in flight per producer. The idempotent producer of `@platformatic/kafka` numbers a
 * partition's records from a counter it advances only when a send's response arrives, so two sends
 * in flight at once reuse the same sequence numbers and the broker refuses the second with
 * `OUT_OF_ORDER_SEQUENCE_NUMBER`. The sender therefore queues records while a send is in flight and
 * ships everything queued meanwhile as the next send (one request per broker), which keeps the
 * numbering right and batches concurrent publishes.
 */
import type { MessageToProduce, Producer } from "@platformatic/kafka";

export type OutRecord = MessageToProduce<string, string, string, string>;

interface Pending {
  record: OutRecord;
  /** Set when the caller gave up (its time limit passed) before the record was sent: it is dropped. */
  cancelled: boolean;
  resolve(): void;
  reject(err: unknown): void;
}

/** Records sent in one produce request at most. */
const MAX_BATCH = 500;

export class KafkaSender {
  readonly #producer: Producer<string, string, string, string>;
  #queue: Pending[] = [];
  #busy = false;

  constructor(producer: Producer<string, string, string, string>) {
    this.#producer = producer;
  }

  /**
   * Sends one record. `cancel()` drops it if it has not been handed to the producer yet (a record
   * already in flight may still be stored).
   */
  send(record: OutRecord): { done: Promise<void>; cancel(): void } {
    let entry: Pending | undefined;
    const done = new Promise<void>((resolve, reject) => {
      entry = { record, cancelled: false, resolve, reject };
    });
    this.#queue.push(entry!);
    void this.#pump();
    return {
      done,
      cancel: () => {
        entry!.cancelled = true;
      },
    };
  }

  async #pump(): Promise<void> {
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, MAX_BATCH).filter((p) => !p.cancelled);
        if (batch.length === 0) continue;
        try {
          await this.#producer.send({ messages: batch.map((p) => p.record) });
          for (const p of batch) p.resolve();
        } catch (err) {
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      this.#busy = false;
    }
  }
}
