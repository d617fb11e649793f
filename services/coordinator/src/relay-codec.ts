// The coordinator's records relay without re-encoding (issue 7). Every records chunk an executor sends is
// checked here (checksum, counts, fencing: attempt-collector.ts) and then forwarded to the caller. The
// generated codec copied each chunk's payload on decode and 3–4 more times on encode, and those large
// short-lived buffers were the coordinator's biggest cost after the collector itself (CPU profiles in
// bench/README.md). Here a records message from an executor is read with `data` as a view of the received
// bytes, and forwarded as `0x0a len <those bytes>` — the records field is number 2 in both
// ExecuteBatchResponse and RunJobResponse — with the wrapper header written in the free bytes before them
// (no copy; see wrapReceived), so grpc-js's own framing copy is the only one. A chunk whose fields changed
// on the way (another job id, say) is encoded afresh; every other message uses the generated code.
import {
  type CoalescedRecords,
  ExecuteBatchesResponse,
  CoordinatorServiceRunJobResponse,
  CoordinatorServiceService,
  CoordinatorServiceWatchJobResponse,
  ExecuteBatchResponse,
  type ExecutorServiceClient,
  ExecutorServiceService,
  type RecordChunk,
} from '@flowmesh/contracts';
import {
  decodeRecordsMessage,
  encodeRecordsMessage,
  readVarintField,
  receivedCoalescedMessage,
  receivedRecordsMessage,
  wrapMessage,
  wrapReceived,
} from '@flowmesh/runtime';
import { makeGenericClientConstructor } from '@grpc/grpc-js';

/** An executor's response; a records chunk keeps its received bytes for forwarding. */
export function deserializeExecutorResponse(bytes: Buffer): ExecuteBatchResponse {
  const records = decodeRecordsMessage(bytes, true);
  return records ? { msg: { $case: 'records', records } } : ExecuteBatchResponse.decode(bytes);
}

/**
 * An ExecuteBatches response: `tag`, then for records the plain records message kept as received (no copy;
 * relaying it copies it once, as it no longer starts where grpc-js's frame did — cheap next to a chunk's
 * other costs).
 */
export function deserializeStreamResponse(bytes: Buffer): ExecuteBatchesResponse {
  const tag = bytes[0] === 0x78 ? readVarintField(bytes, 0) : undefined;
  if (tag) {
    const records = decodeRecordsMessage(bytes.subarray(tag.next), true);
    if (records) return { tag: tag.value, msg: { $case: 'records', records }, more: [] };
  }
  return ExecuteBatchesResponse.decode(bytes);
}

/**
 * A response wrapping a RunJobResponse or WatchJobResponse: records as received when unchanged, and a
 * coalesced message as it was encoded (batch-coalescer.ts; in the free bytes before it, so no copy).
 */
function wrappedSerializer<T extends { response?: { msg?: { $case: string } | undefined } | undefined }>(
  encode: (value: T) => Uint8Array,
): (value: T) => Buffer {
  return (value) => {
    const msg = value.response?.msg as
      { $case: string; records?: RecordChunk; coalesced?: CoalescedRecords } | undefined;
    if (msg?.$case === 'records' && msg.records && msg.records.records.length === 0) {
      const received = receivedRecordsMessage(msg.records);
      return received ? wrapReceived(received) : wrapMessage(encodeRecordsMessage(msg.records));
    }
    if (msg?.$case === 'coalesced' && msg.coalesced) {
      const encoded = receivedCoalescedMessage(msg.coalesced);
      if (encoded) return wrapReceived(encoded);
    }
    return Buffer.from(encode(value));
  };
}

export const serializeRunJobResponse = wrappedSerializer<CoordinatorServiceRunJobResponse>((v) =>
  CoordinatorServiceRunJobResponse.encode(v).finish(),
);
export const serializeWatchJobResponse = wrappedSerializer<CoordinatorServiceWatchJobResponse>((v) =>
  CoordinatorServiceWatchJobResponse.encode(v).finish(),
);

/** The coordinator's service definition with the relaying serializers (same wire format, same methods). */
export const coordinatorServiceDefinition = {
  ...CoordinatorServiceService,
  runJob: { ...CoordinatorServiceService.runJob, responseSerialize: serializeRunJobResponse },
  watchJob: { ...CoordinatorServiceService.watchJob, responseSerialize: serializeWatchJobResponse },
} as const;

/** ExecutorService clients whose records chunks keep their received bytes. */
export const RelayingExecutorClient = makeGenericClientConstructor(
  {
    ...ExecutorServiceService,
    executeBatch: { ...ExecutorServiceService.executeBatch, responseDeserialize: deserializeExecutorResponse },
    executeBatches: { ...ExecutorServiceService.executeBatches, responseDeserialize: deserializeStreamResponse },
  },
  'flowmesh.v1.ExecutorService',
) as unknown as typeof ExecutorServiceClient;
