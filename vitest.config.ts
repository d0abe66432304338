import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // End-to-end tests start real QEMU guests on a 2-CPU machine: run files one at a time
    // so spinning vCPUs of different files never compete.
    fileParallelism: false,
    pool: 'forks',
  },
});
