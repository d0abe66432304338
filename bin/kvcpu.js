#!/usr/bin/env node
// kvcpu entry point: runs the TypeScript sources through tsx's loader, so a fresh
// `npm ci` is enough (no separate build step to forget).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
