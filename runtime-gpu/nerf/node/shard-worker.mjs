// Bootstrap of a training worker thread: the sources are TypeScript, so
// register tsx's loader in this thread (as cli/bin.js does in the main one).
import { register } from 'tsx/esm/api';

register();
await import('./shard-worker.ts');
