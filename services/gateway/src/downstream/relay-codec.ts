// The gateway's records relay without re-encoding (issue 7). The gateway checks nothing inside a records
// chunk — the coordinator has verified it — yet the generated codec copied each chunk's payload on decode
// and 3–4 more times on encode, which with the garbage it made was most of the gateway's CPU per record
// (bench/README.md). Here the coordinator's response is read lazily: a records message keeps the bytes it
// came in (the RunJobResponse / WatchJobResponse inside the coordinator's wrapper, field 1) with `data` as
// a view of them, and the caller is sent exactly those bytes. The records field is number 2 in the
// coordinator's and the caller's messages alike. Every other message (accepted, progress, rejects,
// summary) is decoded and encoded by the generated code, so the gateway still sees all of it.
import {
  type CoordinatorServiceClient,
  CoordinatorServiceRunJobResponse,
  CoordinatorServiceService,
  CoordinatorServiceWatchJobResponse,
  JobServiceService,
  RunJobResponse,
  WatchJobResponse,
  type CoalescedRecords,
  type RecordChunk,
} from '@flowmesh/contracts';
import {
  decodeCoalescedMessage,
  decodeRecordsMessage,
  encodeRecordsMessage,
  receivedCoalescedMessage,
  receivedRecordsMessage,
  unwrapMessage,
} from '@flowmesh/runtime';
import { makeGenericClientConstructor } from '@grpc/grpc-js';

/**
 * A coordinator's wrapped response: a records chunk or a coalesced message (several small batches, issue 7)
 * keeps its received bytes, the rest is decoded. `absent` holds the wrapper's other fields as the generated
 * decoder leaves them when unset.
 */
function wrappedDeserializer<T>(decode: (bytes: Buffer) => T, absent: object = {}): (bytes: Buffer) => T {
  return (bytes) => {
    const inner = unwrapMessage(bytes);
    const records = inner && decodeRecordsMessage(inner, true);
    if (records) return { response: { msg: { $case: 'records', records } }, ...absent } as T;
    const coalesced = inner && decodeCoalescedMessage(inner, true);
    if (coalesced) return { response: { msg: { $case: 'coalesced', coalesced } }, ...absent } as T;
    return decode(bytes);
  };
}

export const deserializeRunJobResponse = wrappedDeserializer((b) => CoordinatorServiceRunJobResponse.decode(b), {
  recordsPart: undefined,
});
export const deserializeWatchJobResponse = wrappedDeserializer((b) => CoordinatorServiceWatchJobResponse.decode(b));

/** A response to the caller: records as received when unchanged, else encoded. */
function relayingSerializer<T extends { msg?: { $case: string } | undefined }>(
  encode: (value: T) => Uint8Array,
): (value: T) => Buffer {
  return (value) => {
    const msg = value.msg as { $case: string; records?: RecordChunk; coalesced?: CoalescedRecords } | undefined;
    if (msg?.$case === 'records' && msg.records && msg.records.records.length === 0) {
      return receivedRecordsMessage(msg.records) ?? encodeRecordsMessage(msg.records);
    }
    if (msg?.$case === 'coalesced' && msg.coalesced) {
      const received = receivedCoalescedMessage(msg.coalesced);
      if (received) return received;
    }
    return Buffer.from(encode(value));
  };
}

export const serializeRunJobResponse = relayingSerializer<RunJobResponse>((v) => RunJobResponse.encode(v).finish());
export const serializeWatchJobResponse = relayingSerializer<WatchJobResponse>((v) =>
  WatchJobResponse.encode(v).finish(),
);

/** The gateway's JobService definition with the relaying serializers (same wire format, same methods). */
export const jobServiceDefinition = {
  ...JobServiceService,
  runJob: { ...JobServiceService.runJob, responseSerialize: serializeRunJobResponse },
  watchJob: { ...JobServiceService.watchJob, responseSerialize: serializeWatchJobResponse },
} as const;

/** CoordinatorService clients whose records chunks keep their received bytes. */
export const RelayingCoordinatorClient = makeGenericClientConstructor(
  {
    ...CoordinatorServiceService,
    runJob: { ...CoordinatorServiceService.runJob, responseDeserialize: deserializeRunJobResponse },
    watchJob: { ...CoordinatorServiceService.watchJob, responseDeserialize: deserializeWatchJobResponse },
  },
  'flowmesh.v1.CoordinatorService',
) as unknown as typeof CoordinatorServiceClient;
