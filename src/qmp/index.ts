/**
 * `kvcpu/qmp`: QMP and QEMU: a QMP client and a launcher that never leaves QEMU behind.
 * (package.json `exports`; the names the main entry `kvcpu` does not carry).
 */
export { QmpClient } from './qmp-client.ts';
export type { QmpEvent, QmpGreeting } from './qmp-client.ts';
export { startQemu, qemuAvailable } from './start-qemu.ts';
export type { QemuProcess, StartQemuOptions } from './start-qemu.ts';
