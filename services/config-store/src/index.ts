// @flowmesh/config-store: the composition root and the command the CLI registers.
export { configStoreCommand, configStoreOptions, startConfigStore, type ConfigStoreConfig } from './main.js';
