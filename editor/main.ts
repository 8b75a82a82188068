// Starts the engine worker and mounts the editor.

import * as Comlink from 'comlink';
import { mount } from 'svelte';
import App from './App.svelte';
import { EditorSession } from './session.svelte';
import type { EngineApi } from './worker/protocol';

const worker = new Worker(new URL('./worker/engine.worker.ts', import.meta.url), { type: 'module', name: 'samnerf-engine' });
const session = new EditorSession(Comlink.wrap<EngineApi>(worker));
// For end-to-end tests and the console: the live session.
(globalThis as { samnerf?: EditorSession }).samnerf = session;

mount(App, { target: document.getElementById('app')!, props: { session } });
