export * from './wait.js';
export * from './ports.js';
export * from './etcd.js';
export * from './services.js';
export * from './compose.js';
export * from './netns.js';
export * from './chaos/index.js';
