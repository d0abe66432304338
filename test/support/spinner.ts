import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A Multiboot v1 ELF that makes every vCPU busy-loop, built as bytes here so CI needs no
 * binutils (see /work/shared/notes/qemu-on-these-machines.md §3).
 *
 * Boot flow (QEMU's multiboot loader, hw/i386/multiboot.c, enters in flat 32-bit protected
 * mode with paging off and EAX=0x2BADB002):
 *   1. the BSP copies an 8-byte real-mode trampoline (`mov dx,0x3f8; mov al,'a'; out dx,al;
 *      jmp $`) to 0x7000 (SIPI vector 7 starts APs at 0x0700:0000),
 *   2. writes the xAPIC ICR (0xFEE00300): INIT to all-excluding-self (0x000C4500), then
 *      STARTUP vector 7 twice (0x000C4607), the Intel SDM "INIT-SIPI-SIPI" sequence,
 *   3. prints `SPIN\n` on COM1 and spins with interrupts off.
 * Each AP prints `a` and spins. Readiness = `SPIN` plus (vCPUs - 1) `a`s in the serial log.
 * vCPUs hot-plugged later stay in wait-for-SIPI (they do not spin).
 */

const LOAD_ADDR = 0x100000; // 1 MiB, where multiboot kernels conventionally load
const ELF_HEADER = 52;
const PROGRAM_HEADER = 32;
const MB_HEADER_OFF = ELF_HEADER + PROGRAM_HEADER; // 84: 4-byte aligned, within the first 8 KiB
const CODE_OFF = MB_HEADER_OFF + 12;

function u32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
function u16(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff];
}

/** Real-mode AP trampoline (16-bit code). */
const TRAMPOLINE = [
  0xba,
  0xf8,
  0x03, // mov dx, 0x3f8
  0xb0,
  0x61, //       mov al, 'a'
  0xee, //             out dx, al
  0xeb,
  0xfe, //       jmp $
];

function code(trampolineAddr: number): number[] {
  const icr = 0xfee00300;
  const writeIcr = (v: number) => [0xc7, 0x05, ...u32(icr), ...u32(v)]; // mov dword [icr], imm32
  const delay = (n: number) => [0xb9, ...u32(n), 0xe2, 0xfe]; // mov ecx, n; loop $
  const putc = (c: string) => [0xb0, c.charCodeAt(0), 0xee]; // mov al, c; out dx, al
  return [
    0xfa, //                                   cli
    0xfc, //                                   cld
    0xbe,
    ...u32(trampolineAddr), //          mov esi, trampoline
    0xbf,
    ...u32(0x7000), //                  mov edi, 0x7000
    0xb9,
    ...u32(TRAMPOLINE.length), //       mov ecx, len
    0xf3,
    0xa4, //                             rep movsb
    ...writeIcr(0x000c4500), //                INIT, all excluding self
    ...delay(0x10000),
    ...writeIcr(0x000c4607), //                STARTUP, vector 0x07 -> 0x7000
    ...delay(0x10000),
    ...writeIcr(0x000c4607), //                second STARTUP (ignored by APs already running)
    0x66,
    0xba,
    0xf8,
    0x03, //                 mov dx, 0x3f8
    ...putc('S'),
    ...putc('P'),
    ...putc('I'),
    ...putc('N'),
    ...putc('\n'),
    0xeb,
    0xfe, //                             jmp $
  ];
}

/** The spinner ELF's bytes. */
export function buildSpinnerElf(): Buffer {
  // Code length does not depend on the trampoline address, so measure it with a dummy.
  const codeLen = code(0).length;
  const trampolineOff = CODE_OFF + codeLen;
  const total = trampolineOff + TRAMPOLINE.length;
  const entry = LOAD_ADDR + CODE_OFF;
  const magic = 0x1badb002;
  const flags = 0; // ELF image: the loader uses the program headers (no a.out kludge)
  const checksum = -(magic + flags) >>> 0;
  const bytes = [
    // ELF32 header
    0x7f,
    0x45,
    0x4c,
    0x46,
    1 /* ELFCLASS32 */,
    1 /* LSB */,
    1 /* EV_CURRENT */,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    ...u16(2) /* ET_EXEC */,
    ...u16(3) /* EM_386 */,
    ...u32(1),
    ...u32(entry),
    ...u32(ELF_HEADER) /* phoff */,
    ...u32(0) /* shoff */,
    ...u32(0) /* flags */,
    ...u16(ELF_HEADER),
    ...u16(PROGRAM_HEADER),
    ...u16(1),
    ...u16(40),
    ...u16(0),
    ...u16(0),
    // Program header: one PT_LOAD of the whole file at 1 MiB, RWX
    ...u32(1),
    ...u32(0),
    ...u32(LOAD_ADDR),
    ...u32(LOAD_ADDR),
    ...u32(total),
    ...u32(total),
    ...u32(7),
    ...u32(0x1000),
    // Multiboot v1 header
    ...u32(magic),
    ...u32(flags),
    ...u32(checksum),
    ...code(LOAD_ADDR + trampolineOff),
    ...TRAMPOLINE,
  ];
  if (bytes.length !== total) throw new Error(`spinner layout bug: ${bytes.length} != ${total}`);
  return Buffer.from(bytes);
}

/** Write the spinner to DIR/spinner.elf and return its path. */
export function writeSpinnerElf(dir: string): string {
  const path = join(dir, 'spinner.elf');
  writeFileSync(path, buildSpinnerElf());
  return path;
}
