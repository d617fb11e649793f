// @flowmesh/runtime: the service host and what every service and client needs around it.
export * from './errors.js';
export { toServiceError, isServiceError, FIELD_METADATA_KEY, ERROR_REF_METADATA_KEY } from './to-service-error.js';
export type { CallContext } from './call-context.js';
export { unary, serverStream, clientStream, bidi, write } from './handlers.js';
export {
  createServiceHost,
  DEFAULT_GRACE_MS,
  DEFAULT_MAX_MESSAGE_BYTES,
  type ServiceHost,
  type ServiceHostOptions,
  type ServiceRegistration,
  type HostState,
} from './service-host.js';
export { CLUSTER_TOKEN_METADATA_KEY, tokensEqual } from './cluster-token.js';
export { HEALTH_SERVICE, REFLECTION_SERVICES } from './reflection.js';
export {
  createClient,
  callOptions,
  DEFAULT_CHANNEL_OPTIONS,
  API_KEY_METADATA_KEY,
  type ClientOptions,
  type CallOptionsInput,
  type FlowmeshCallOptions,
} from './client.js';
export { retryIdempotent, type RetryOptions } from './retry.js';
export { createLogger, LOG_LEVELS, type Logger, type LoggerOptions } from './logger.js';
export * as option from './config/option.js';
export type { OptionSpec, OptionsSchema, ConfigOf } from './config/option.js';
export { addOptions, resolveConfig } from './config/resolve-config.js';
export { commonOptions, type CommonOptions, type CommonConfig } from './config/common-options.js';
export { runMain, stopOnce, type Stoppable } from './run-main.js';
export { discoveryOptions, optionalDiscoveryOptions } from './config/discovery-options.js';
export { hostOptionsOf, type CommonHostOptions } from './config/host-options.js';
export { serviceCommand, type ServiceCommandSpec } from './service-command.js';
export * from './metrics/index.js';
export {
  inSpan,
  tracingActive,
  activeContext,
  withContext,
  traceFields,
  flushTelemetry,
  injectTraceContext,
  extractTraceContext,
  type Span,
  type Context as TraceContext,
} from './telemetry/spans.js';
export { batchAttemptAttributes, batchCountsAttributes } from './telemetry/attempt-attributes.js';
export {
  decodeRecordsMessage,
  receivedRecordsMessage,
  encodeRecordsMessage,
  varintField,
  varintSize,
  writeVarint,
  readVarintField,
  wrapMessage,
  wrapReceived,
  unwrapMessage,
  RECORDS_TAG,
  WRAPPED_TAG,
} from './wire/records-wire.js';
export { createMessageBundle, type MessageBundle } from './wire/message-bundle.js';
export {
  COALESCED_TAG,
  decodeCoalescedMessage,
  encodeCoalescedMessage,
  receivedCoalescedMessage,
  type CoalescedBatch,
} from './wire/coalesced-wire.js';
export {
  DEFAULT_SPOOL_DIR,
  SPOOL_ID_METADATA_KEY,
  SPOOL_DIR_METADATA_KEY,
  SPOOL_LABEL,
  SPOOL_ROOT,
  CALLER_SPOOL_ID_METADATA_KEY,
  spoolIdentity,
  existingSpoolId,
  isSpoolRelative,
} from './spool/spool.js';
export { freshChunkBuffers, readCheckedPart, type ChunkMemory, type PartLayout } from './spool/read-part.js';
