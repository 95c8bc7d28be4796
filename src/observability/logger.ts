import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/** Paths that never reach a log line: credentials and prompt text. */
export const REDACT_PATHS = [
  "authorization",
  "headers.authorization",
  "req.headers.authorization",
  "*.apiKey",
  "apiKey",
  "api_key",
  "*.api_key",
  "messages",
  "*.messages",
  "prompt",
  "*.prompt",
  "input",
  "*.input",
];

export interface LoggerOptions {
  level: string;
  /** Where lines go; standard output by default. */
  destination?: pino.DestinationStream;
}

/** The one JSON logger. Lines carry `trace_id` when written in a request's scope. */
export function createLogger(opts: LoggerOptions): Logger {
  const dest = opts.destination ?? pino.destination({ dest: 1, sync: false });
  return pino(
    {
      level: opts.level,
      base: { service: "switchyard" },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}
