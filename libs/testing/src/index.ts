export * from './wait.js';
export * from './ports.js';
export * from './etcd.js';
