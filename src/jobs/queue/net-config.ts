/**
 * Config pieces the networked queues (NATS JetStream, Kafka) declare alike: durations, priority
 * classes, TLS with certificate files, and the rule that a reconnect wait can only grow.
 */
import { z } from "zod";

/** A whole number of milliseconds in [min, max]; `dflt` when absent. */
export const ms = (min: number, max: number, dflt: number) =>
  z.number().int().min(min).max(max).default(dflt);

/**
 * Priority classes, each named by the lowest job priority it holds, highest class first (strictly
 * descending); a priority below the last bound goes to the last class.
 */
export const priorityClassesSchema = z
  .array(z.number().int())
  .min(1)
  .max(16)
  .default([1, 0, -1000])
  .refine((a) => a.every((v, i) => i === 0 || v < a[i - 1]!), {
    message: "priorityClasses must be strictly descending",
  });

/** The class (index into the bounds of `priorityClasses`) of a priority: the first bound it reaches, else the last. */
export function priorityClass(bounds: readonly number[], priority: number): number {
  const i = bounds.findIndex((b) => priority >= b);
  return i === -1 ? bounds.length - 1 : i;
}

/** TLS from PEM files: the CA, and a client certificate with its key for mutual TLS. */
export const tlsFilesShape = {
  /** PEM file of the CA that signed the servers' certificates (default: the system CAs). */
  caFile: z.string().min(1).optional(),
  /** Client certificate and its key (PEM files), for mutual TLS. */
  certFile: z.string().min(1).optional(),
  keyFile: z.string().min(1).optional(),
};

/** For `.refine(tlsFilesPaired, TLS_FILES_ISSUE)`: a certificate comes with its key. */
export function tlsFilesPaired(t: { certFile?: string; keyFile?: string }): boolean {
  return (t.certFile === undefined) === (t.keyFile === undefined);
}

export const TLS_FILES_ISSUE = { message: "certFile and keyFile go together" };

/** For `.refine(reconnectWaitsGrow, RECONNECT_WAITS_ISSUE)`: the longest wait is not below the first. */
export function reconnectWaitsGrow(c: { reconnectWaitMs: number; reconnectMaxWaitMs: number }): boolean {
  return c.reconnectMaxWaitMs >= c.reconnectWaitMs;
}

export const RECONNECT_WAITS_ISSUE = {
  message: "reconnectMaxWaitMs must be at least reconnectWaitMs",
  path: ["reconnectMaxWaitMs"],
};
