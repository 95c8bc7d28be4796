/**
 * Dynamic batching: many small concurrent requests for a model merged into one upstream call.
 * `BatchingFront` sits in front of `Router.execute`; `MicroBatcher` is the generic queue beneath it;
 * a `BatchCodec` says how one kind of request is merged and split (embeddings ship with it).
 */
export {
  type Batch,
  type BatchRunner,
  type BatchSettings,
  type FlushListener,
  MicroBatcher,
} from "./batcher.js";
export type { BatchCodec, BatchMember } from "./codec.js";
export { type BatchingConfig, batchingSchema, MAX_BATCH_ITEMS } from "./config.js";
export { type EmbeddingList, renderMember, scanEmbeddingList } from "./embedding-list.js";
export {
  type EmbeddingMember,
  embeddingItems,
  embeddingsCodec,
  shareUsage,
  splitEmbeddings,
} from "./embeddings.js";
export { type BatchingDeps, BatchingFront } from "./front.js";
export { kserveCodec, type TensorMember } from "./kserve.js";
export { estimateItemTokens, type ItemCounter, simItemTokens, splitProportional } from "./usage.js";
