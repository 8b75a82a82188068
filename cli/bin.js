#!/usr/bin/env node
// The `samnerf` command. The sources are TypeScript; tsx compiles them on
// load so that `npm ci` is the whole install (no build step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('./main.ts');
process.exitCode = await main(process.argv.slice(2));
