import type { RequestContext } from "../core/context.js";
import type { RouteRequest, RouteResult } from "../core/types.js";

/** One caller's request as a batch member: its request and its own context (deadline, abort, usage). */
export interface BatchMember {
  readonly req: RouteRequest;
  readonly ctx: RequestContext;
}

/**
 * How one kind of request is merged along its batch dimension and split back. The batching front is
 * generic; a codec is all an operation needs to be batched (embeddings are one; tensor inference
 * requests, concatenated along their first dimension, are another).
 */
export interface BatchCodec<M extends BatchMember> {
  /**
   * The member for a request, the key of the requests it may share a batch with, and its size along
   * the batch dimension; undefined when the request cannot be batched (it then runs on its own).
   */
  prepare(req: RouteRequest, ctx: RequestContext): { key: string; size: number; member: M } | undefined;
  /** One request carrying every member's items, in member order. */
  merge(members: readonly M[]): RouteRequest;
  /**
   * The batch's answer cut into one answer per member, in member order (undefined for members that
   * left). Throws a GatewayError (`upstream_bad_response`) when the answer does not fit the members.
   */
  split(
    result: RouteResult,
    members: readonly M[],
    live: (i: number) => boolean,
  ): Array<RouteResult | undefined>;
}
