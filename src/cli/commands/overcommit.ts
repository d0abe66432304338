import type { RegisterCommand } from '../command-kit.ts';

// Placeholder until the capability lands: the command is not registered yet.
export const registerOvercommit: RegisterCommand = () => {};
