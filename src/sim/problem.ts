/** An error answer of the sim, shaped like an OpenAI error body. */
export interface SimProblem {
  status: number;
  message: string;
  type: string;
  param: string | null;
  code: string | null;
  retryAfterSeconds?: number;
}

export function problemBody(p: SimProblem): string {
  return JSON.stringify({ error: { message: p.message, type: p.type, param: p.param, code: p.code } });
}

/** Thrown inside request validation; turned into a 400 problem at its edge. */
export class InvalidRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly code: string = "invalid_value",
  ) {
    super(message);
  }

  toProblem(): SimProblem {
    return {
      status: 400,
      message: this.message,
      type: "invalid_request_error",
      param: this.param,
      code: this.code,
    };
  }
}

export function invalid(message: string, param: string | null, code?: string): SimProblem {
  return new InvalidRequest(message, param, code).toProblem();
}

function typeForStatus(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  return status < 500 ? "invalid_request_error" : "server_error";
}

/** The answer of a `status=` fault. */
export function injectedProblem(status: number): SimProblem {
  const p: SimProblem = {
    status,
    message: `simulated failure: the sim was told to answer ${status}`,
    type: typeForStatus(status),
    param: null,
    code: "sim_injected_fault",
  };
  if (status === 429 || status === 503) p.retryAfterSeconds = 1;
  return p;
}

export function overloadedProblem(model: string): SimProblem {
  return {
    status: 503,
    message: `model ${model} is overloaded: its waiting queue is full`,
    type: "server_error",
    param: null,
    code: "overloaded",
    retryAfterSeconds: 1,
  };
}
