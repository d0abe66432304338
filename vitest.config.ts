import { defineConfig } from 'vitest/config';

// Two projects: `unit` (src/, test/*.test.ts, the fuzz and hardening suites in test/fuzz and test/harden: pure logic, captured trees, the CLI in-process,
// short live reads of this host) and `e2e` (test/e2e and test/support: real QEMU guests, libvirt domains, the
// packed tarball). `npm run test:unit` / `npm run test:e2e` run one; `npm test` runs both.
const shared = {
  testTimeout: 60_000,
  hookTimeout: 120_000,
  // End-to-end tests start real QEMU guests on a 2-CPU machine: run files one at a time
  // so spinning vCPUs of different files never compete.
  fileParallelism: false,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    ...shared,
    projects: [
      { test: { ...shared, name: 'unit', include: ['src/**/*.test.ts', 'test/*.test.ts', 'test/fuzz/**/*.test.ts', 'test/harden/**/*.test.ts'] } },
      { test: { ...shared, name: 'e2e', include: ['test/e2e/**/*.test.ts', 'test/support/**/*.test.ts'] } },
    ],
  },
});
