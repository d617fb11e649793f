// @flowmesh/config-store: the composition root, the command the CLI registers, and the handlers.
export {
  configStoreCommand,
  configStoreOptions,
  startConfigStore,
  CONFIG_STORE_VERSION,
  type ConfigStoreConfig,
  type RunningConfigStore,
} from './main.js';
export {
  createConfigStoreHandlers,
  configStoreImplementation,
  WATCH_BUFFER,
  type ConfigStoreHandlers,
} from './config-store-service.js';
