// SPDX-License-Identifier: GPL-2.0-only
// The ONE memory map of the virt board, QEMU's riscv `virt` machine layout (hw/riscv/virt.c
// virt_memmap[] and include/hw/riscv/virt.h, QEMU 7.2 to 9.x): the board wires its devices
// from this table and virt-fdt.ts describes the same table to the guest.
// Leaves out (no device behind them here): debug, MROM, ACLINT SSWI, PCIe PIO/ECAM/MMIO,
// platform bus, APLIC/IMSIC, fw_cfg, flash.
//
//   0x0010_0000  0x1000      test      SiFive test/finisher (syscon poweroff 0x5555, reboot 0x7777)
//   0x0010_1000  0x1000      rtc       Goldfish RTC                        PLIC source 11
//   0x0200_0000  0x1_0000    clint     ACLINT MSWI + MTIMER (CLINT layout)
//   0x0c00_0000  0x60_0000   plic      PLIC, room for 2 contexts x 512 harts
//   0x1000_0000  0x100       uart0     NS16550A, 3.6864 MHz                PLIC source 10
//   0x1000_1000  0x1000 x 8  virtio    virtio-mmio slots 0..7              PLIC sources 1..8
//   0x8000_0000  RAM size    dram

export interface MemMapEntry {
  readonly base: number;
  readonly size: number;
}

/** QEMU: VIRT_CPUS_MAX (1 << VIRT_CPUS_MAX_BITS = 9). */
export const VIRT_CPUS_MAX = 512;

/** QEMU: VIRT_PLIC_CONTEXT_BASE + contexts * VIRT_PLIC_CONTEXT_STRIDE, for VIRT_CPUS_MAX * 2 contexts. */
const PLIC_WINDOW = 0x20_0000 + VIRT_CPUS_MAX * 2 * 0x1000;

export const VIRT_MEMMAP = {
  test: { base: 0x10_0000, size: 0x1000 },
  rtc: { base: 0x10_1000, size: 0x1000 },
  clint: { base: 0x200_0000, size: 0x1_0000 },
  plic: { base: 0xc00_0000, size: PLIC_WINDOW },
  uart0: { base: 0x1000_0000, size: 0x100 },
  /** One slot; slot i is at base + i * size. */
  virtio: { base: 0x1000_1000, size: 0x1000 },
  /** size 0: the RAM size is the user's choice. */
  dram: { base: 0x8000_0000, size: 0 },
} as const satisfies Record<string, MemMapEntry>;

/** PLIC source numbers (QEMU: UART0_IRQ, RTC_IRQ, VIRTIO_IRQ .. + VIRTIO_COUNT - 1). */
export const VIRT_IRQ = { uart0: 10, rtc: 11, virtio: 1 } as const;
export const VIRT_VIRTIO_COUNT = 8;

/** QEMU: VIRT_IRQCHIP_NUM_SOURCES (ids 0..95; the device tree's riscv,ndev is 95). */
export const VIRT_PLIC_NUM_SOURCES = 96;
/** QEMU: VIRT_IRQCHIP_NUM_PRIO_BITS = 3, i.e. priorities 1..7. */
export const VIRT_PLIC_MAX_PRIORITY = 7;
/** QEMU: RISCV_ACLINT_DEFAULT_TIMEBASE_FREQ. */
export const VIRT_TIMEBASE_FREQ = 10_000_000;
/** QEMU virt's UART input clock (device tree clock-frequency 0x384000). */
export const VIRT_UART_CLOCK = 3_686_400;
/** The syscon values the device tree gives Linux for poweroff and reboot (test device). */
export const VIRT_POWEROFF_VALUE = 0x5555;
export const VIRT_REBOOT_VALUE = 0x7777;

/** Where the kernel goes: RAM base + 2 MiB (the RISC-V Image's text_offset; QEMU's choice too). */
export const VIRT_KERNEL_OFFSET = 0x20_0000;

/** The address of virtio-mmio slot `i` (0..7). */
export function virtioSlotBase(i: number): number {
  return VIRT_MEMMAP.virtio.base + i * VIRT_MEMMAP.virtio.size;
}

/** One MMIO region of the board, in address order: what the board maps and the FDT lists. */
export interface VirtRegion extends MemMapEntry {
  /** Key into VIRT_MEMMAP, plus the slot number for virtio ("virtio3"). */
  readonly id: string;
  /** PLIC source, if the device interrupts. */
  readonly irq?: number;
}

/** Every MMIO region of the board in address order. */
export function virtRegions(): VirtRegion[] {
  const m = VIRT_MEMMAP;
  const out: VirtRegion[] = [
    { id: 'test', ...m.test },
    { id: 'rtc', ...m.rtc, irq: VIRT_IRQ.rtc },
    { id: 'clint', ...m.clint },
    { id: 'plic', ...m.plic },
    { id: 'uart0', ...m.uart0, irq: VIRT_IRQ.uart0 },
  ];
  for (let i = 0; i < VIRT_VIRTIO_COUNT; i++) {
    out.push({ id: `virtio${i}`, base: virtioSlotBase(i), size: m.virtio.size, irq: VIRT_IRQ.virtio + i });
  }
  return out.sort((a, b) => a.base - b.base);
}
