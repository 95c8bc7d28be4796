/**
 * Types for the parts of `nsqjs` (0.13) the NSQ queue uses: one consumer connection to one nsqd
 * (`NSQDConnection`: IDENTIFY, SUB, RDY, heartbeats) and the messages it receives (FIN, REQ, TOUCH).
 * The package ships no types; these follow its `lib/nsqdconnection.js` and `lib/message.js`.
 */
declare module "nsqjs" {
  import { EventEmitter } from "node:events";

  /** Options of one nsqd connection (`lib/config.js` ConnectionConfig). */
  export interface ConnectionOptions {
    clientId?: string;
    /** Seconds between heartbeats (nsqjs sends `heartbeatInterval * 1000` in IDENTIFY). */
    heartbeatInterval?: number;
    /** The connection's msg_timeout in milliseconds (IDENTIFY `msg_timeout`). */
    messageTimeout?: number | null;
    /** Default REQ delay in milliseconds when `requeue()` is called without one. */
    requeueDelay?: number;
    /** Seconds of socket inactivity before the connection is closed (0 = never). */
    idleTimeout?: number;
  }

  export class Message extends EventEmitter {
    /** The nsqd message id (16 bytes of hex text). */
    readonly id: string;
    /** Deliveries so far, this one included (nsqd's per-message counter). */
    readonly attempts: number;
    /** Nanoseconds since the epoch at which nsqd accepted the message. */
    readonly timestamp: bigint | number;
    readonly body: Buffer;
    /** Epoch ms at which this delivery arrived. */
    readonly receivedOn: number;
    /** True after FIN or REQ was sent. */
    readonly hasResponded: boolean;
    /** FIN: done, nsqd drops the message. */
    finish(): void;
    /** REQ: back to the channel after `delayMs`; `backoff` would ask a Reader to slow down. */
    requeue(delayMs?: number, backoff?: boolean): void;
    /** TOUCH: resets the message's server-side timeout to the connection's msg_timeout. */
    touch(): void;
  }

  /** One consumer connection, subscribed to `topic` / `channel` once ready. */
  export class NSQDConnection extends EventEmitter {
    static readonly READY: "ready";
    static readonly MESSAGE: "message";
    static readonly CLOSED: "closed";
    static readonly ERROR: "error";
    static readonly CONNECTION_ERROR: "connection_error";
    constructor(host: string, port: number, topic: string, channel: string, options?: ConnectionOptions);
    readonly nsqdHost: string;
    readonly nsqdPort: number;
    /** From the IDENTIFY response (0 before it). */
    readonly maxRdyCount: number;
    readonly msgTimeout: number;
    readonly maxMsgTimeout: number;
    connect(): void;
    /** Sends `RDY n` (capped at the server's max_rdy_count); only once subscribed. */
    setRdy(count: number): void;
    /** Sends CLS and ends the socket. */
    close(): void;
    destroy(): void;
    on(event: "ready" | "closed", listener: () => void): this;
    on(event: "message", listener: (msg: Message) => void): this;
    on(event: "error" | "connection_error", listener: (err: Error) => void): this;
  }
}
