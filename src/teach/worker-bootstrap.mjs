// Starts a TypeScript module in a worker thread. Node 20 does not apply
// `--import tsx` from a Worker's execArgv to the worker's own loader, so the
// worker registers tsx itself, then imports the module named in workerData.
import { register } from 'tsx/esm/api';
import { workerData } from 'node:worker_threads';

register();
await import(workerData.entry);
