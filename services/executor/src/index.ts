// Public API of @flowmesh/executor: the service command, its composition root, and the parts tests host.
export { executorCommand } from './executor-command.js';
export { startExecutor, EXECUTOR_VERSION, type RunningExecutor } from './start-executor.js';
export { createExecutor, type Executor, type ExecutorParts, type ExecutorState } from './create-executor.js';
export { executorOptions, type ExecutorConfig } from './options.js';
export { parseFaults, type Faults, type FaultKind, type FaultRule } from './faults.js';
export { staticFileRoots, parseFileRootFlags, type FileRootLookup } from './file-roots.js';
export { createJobContexts, JOB_CONTEXTS, type JobContexts } from './job-contexts.js';
