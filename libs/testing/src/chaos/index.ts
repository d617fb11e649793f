// The chaos harness (issue 6, item 5; docs/guarantees.md): output checker, seeded fault scheduler, cuttable TCP proxy.
export * from './check-output.js';
export * from './prng.js';
export * from './tcp-proxy.js';
export * from './fault-scheduler.js';
