// Public io API of @flowmesh/flow: codecs, batch planning, encoding, checksums, the orders generator.
export type { RecordFormat, FlowRecord, DecodeError, DecodeResult, DecodeOptions, BatchRange } from './types.js';
export { decodeRecords, createRecordReader } from './decode-records.js';
export type { RecordReader, RecordVisit, ErrorVisit } from './decode-records.js';
export { readHeader } from './read-header.js';
export type { HeaderInfo, ReadHeaderOptions } from './read-header.js';
export { parseHeader } from './parse-header.js';
export { planBatches } from './plan-batches.js';
export type { PlanOptions } from './plan-batches.js';
export { createStreamBatcher } from './stream-batcher.js';
export type { StreamBatch, StreamBatcher, StreamBatcherOptions } from './stream-batcher.js';
export { createJsonlEncoder, encodeJsonl, isOwnedChunk } from './encode-jsonl.js';
export type { EncodedChunk, JsonlEncoder } from './encode-jsonl.js';
export { encodeCsv } from './encode-csv.js';
export type { EncodeCsvOptions } from './encode-csv.js';
export { createChecksum, crc32hex } from './checksum.js';
export type { Checksum } from './checksum.js';
export { generateOrders, orderId, ORDER_COLUMNS, KNOWN_COUNTRIES } from '../data/generate-orders.js';
export type { GenerateOrdersOptions, InvalidKind } from '../data/generate-orders.js';
