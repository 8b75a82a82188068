import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real-model tests run ONNX sessions that use both cores; running files
    // one at a time keeps their timing sane on the 2-core CI machine.
    fileParallelism: false,
  },
});
