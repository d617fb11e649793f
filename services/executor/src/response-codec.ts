// A faster serializer for ExecuteBatchResponse. Record chunks are nearly all the bytes an executor sends
// (issue 7: the gRPC tax is per byte), and the generated encoder copies a chunk's payload 3–4 times
// (buffer growth, fork/join shift, finish slice, Buffer.from). The records message is written by the
// runtime's hand-written records codec (the same bytes, one allocation and one copy), which the coordinator
// and gateway also use to relay it unchanged; every other message goes through the generated encoder.
import { ExecuteBatchesResponse, ExecuteBatchResponse, ExecutorServiceService } from '@flowmesh/contracts';
import { encodeRecordsMessage, varintField, varintSize, writeVarint } from '@flowmesh/runtime';

export function serializeResponse(value: ExecuteBatchResponse): Buffer {
  const msg = value.msg;
  if (msg?.$case !== 'records' || msg.records.records.length > 0) {
    return Buffer.from(ExecuteBatchResponse.encode(value).finish());
  }
  return encodeRecordsMessage(msg.records);
}

/** Field number of `tag` in ExecuteBatchesResponse. */
const TAG_FIELD = 15;

/**
 * An ExecuteBatches response: the tag field, then the same bytes as the ExecuteBatchResponse would have
 * (the generated encoder also writes `tag` first, as it is declared first), records by the fast codec.
 */
export function serializeStreamResponse(value: ExecuteBatchesResponse): Buffer {
  const msg = value.msg;
  if (value.more.length > 0 && value.tag === 0 && msg === undefined) return serializeBundle(value.more);
  if (msg?.$case !== 'records' || msg.records.records.length > 0 || value.tag === 0 || value.more.length > 0) {
    return Buffer.from(ExecuteBatchesResponse.encode(value).finish());
  }
  return encodeRecordsMessage(msg.records, varintField(TAG_FIELD, value.tag));
}

/** Key of `more` (field 16, length-delimited) in ExecuteBatchesResponse. */
const MORE_KEY = (16 << 3) | 2;

/**
 * A bundle (response-outbox.ts: tag 0, no message of its own, the responses in `more`) — what a run of tiny
 * batches mostly sends. Each response is serialized as above (records by the fast codec) and written once
 * into one buffer; the generated encoder would copy every records payload into a forked writer and again on
 * each join. Same bytes as the generated encoder (ExecuteBatchesResponse.decode reads them; test).
 */
function serializeBundle(more: ExecuteBatchesResponse[]): Buffer {
  const parts = more.map(serializeStreamResponse);
  let size = 0;
  for (const p of parts) size += varintSize(MORE_KEY) + varintSize(p.length) + p.length;
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const p of parts) {
    at = writeVarint(out, at, MORE_KEY);
    at = writeVarint(out, at, p.length);
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** The executor's service definition with the fast response serializers (same wire format, same methods). */
export const executorServiceDefinition = {
  ...ExecutorServiceService,
  executeBatch: { ...ExecutorServiceService.executeBatch, responseSerialize: serializeResponse },
  executeBatches: { ...ExecutorServiceService.executeBatches, responseSerialize: serializeStreamResponse },
} as const;
