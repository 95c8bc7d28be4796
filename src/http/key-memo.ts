import type { FastifyRequest } from "fastify";
import { type KeyMemo, newKeyMemo } from "../auth/keys.js";

const KEY_MEMO = Symbol("switchyard.keyMemo");

type MemoSocket = { [KEY_MEMO]?: KeyMemo };

/**
 * The API key this request's connection presented last (see `KeyMemo`): kept on the socket, so it
 * lives and dies with the connection and is never shared between two.
 */
export function connectionKeyMemo(request: FastifyRequest): KeyMemo {
  const socket = request.raw.socket as unknown as MemoSocket;
  let memo = socket[KEY_MEMO];
  if (memo === undefined) {
    memo = newKeyMemo();
    socket[KEY_MEMO] = memo;
  }
  return memo;
}
