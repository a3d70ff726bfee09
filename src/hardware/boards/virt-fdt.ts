// SPDX-License-Identifier: GPL-2.0-only
// The device tree of the virt board, generated from the one memory map (virt-memmap.ts), the
// hart count, RAM size, command line and initrd range. Node and property names follow what
// QEMU's virt machine gives the same kernel (hw/riscv/virt.c create_fdt*), so Linux and
// OpenSBI probe the same drivers. Bindings: Linux Documentation/devicetree/bindings (riscv/
// cpus.yaml, sifive,plic-1.0.0.yaml, sifive,clint.yaml, virtio/mmio.yaml, power/reset/syscon-*).
// Leaves out what the board does not have: PCIe, fw_cfg, flash, platform bus, PMU node.
//
// Two flavours, as QEMU has under TCG and under KVM:
//   mode 'firmware'  M-mode firmware (OpenSBI) owns the machine: PLIC contexts M and S per
//                    hart, CLINT node present (OpenSBI drives it for timer and IPIs).
//   mode 'vsbi'      the guest starts in S-mode under the hypervisor's SBI (like KVM): PLIC
//                    S contexts only, no CLINT node (its interrupts are M-level; a guest
//                    gets time and IPIs from the SBI TIME/IPI extensions and Sstc).
import { buildDtb, cells64, FdtNode } from '../fdt/fdt-writer.ts';
import {
  VIRT_IRQ, VIRT_MEMMAP, VIRT_PLIC_NUM_SOURCES, VIRT_POWEROFF_VALUE, VIRT_REBOOT_VALUE, VIRT_TIMEBASE_FREQ,
  VIRT_UART_CLOCK, VIRT_VIRTIO_COUNT, virtioSlotBase,
} from './virt-memmap.ts';

export type VirtMode = 'firmware' | 'vsbi';

/** Standard RISC-V interrupt numbers (mip bits) used in interrupts-extended cells. */
// Spec: riscv-priv-20240411 §3.1.9 "Machine Interrupt (mip and mie) Registers"
const IRQ_M_SOFT = 3, IRQ_M_TIMER = 7, IRQ_S_EXT = 9, IRQ_M_EXT = 11;

/**
 * The extensions our hart implements, in canonical order (single letters, then Z* by
 * category: Zi* before Zb*, as I precedes B; then S*). Spec: riscv-unpriv-20240411 "ISA
 * Extension Naming Conventions". Zba/Zbb/Zbc/Zbs are what QEMU 7.2's virt CPU announces.
 * Linux reads riscv,isa-extensions when present (bindings riscv/extensions.yaml) and
 * riscv,isa otherwise; both are given.
 */
export const VIRT_HART_EXTENSIONS: readonly string[] = [
  'i', 'm', 'a', 'f', 'd', 'c', 'zicntr', 'zicsr', 'zifencei', 'zihintpause', 'zba', 'zbb', 'zbc', 'zbs', 'sstc',
];

/** "rv64imafdc_zicntr_zicsr_..." from an extension list. */
export function riscvIsaString(exts: readonly string[]): string {
  const single = exts.filter((e) => e.length === 1).join('');
  const multi = exts.filter((e) => e.length > 1);
  return ['rv64' + single, ...multi].join('_');
}

export interface VirtFdtConfig {
  readonly hartCount: number;
  readonly ramSize: number;
  readonly mode: VirtMode;
  /** Kernel command line (/chosen/bootargs). */
  readonly bootargs?: string;
  /** Physical range [start, end) of the initramfs. */
  readonly initrd?: { readonly start: number; readonly end: number };
  /** Seed bytes for /chosen/rng-seed (Linux credits them to its entropy pool early). */
  readonly rngSeed?: Uint8Array;
  /** Header boot_cpuid_phys. */
  readonly bootHart?: number;
  /** Override the flavour's default: include the CLINT node or not. */
  readonly clint?: boolean;
  readonly isaExtensions?: readonly string[];
  /** Highest translation mode the harts support (default Sv57; Linux tries 57, 48, 39). */
  readonly mmuType?: 'riscv,sv39' | 'riscv,sv48' | 'riscv,sv57';
  /** Free bytes at the end of the blob, for firmware that edits the tree in place. */
  readonly padding?: number;
}

const hex = (n: number): string => n.toString(16);
const reg = (base: number, size: number): number[] => [...cells64(base), ...cells64(size)];

/** The /chosen value of one address: one cell when it fits (as QEMU writes it), else two. */
const addrCells = (a: number): number[] => (a < 0x1_0000_0000 ? [a] : cells64(a));

/** Build the tree (callers may add nodes before flattening it). */
export function virtFdtTree(cfg: VirtFdtConfig): FdtNode {
  if (!Number.isInteger(cfg.hartCount) || cfg.hartCount < 1) throw new RangeError(`virt-fdt: ${cfg.hartCount} harts`);
  let nextPhandle = 1;
  const exts = cfg.isaExtensions ?? VIRT_HART_EXTENSIONS;
  const withClint = cfg.clint ?? cfg.mode === 'firmware';

  const root = new FdtNode('');
  root.prop('#address-cells', 2).prop('#size-cells', 2);
  root.prop('compatible', 'riscv-virtio').prop('model', 'riscv-virtio,tsxen');

  // Spec: devicetree-0.4 "/cpus Node Properties" and "/cpus/cpu* Node Properties";
  // the RISC-V properties per Linux's bindings riscv/cpus.yaml.
  const cpus = root.child('cpus');
  cpus.prop('#address-cells', 1).prop('#size-cells', 0).prop('timebase-frequency', VIRT_TIMEBASE_FREQ);
  const intc: number[] = [];
  const cpuPh: number[] = [];
  for (let h = 0; h < cfg.hartCount; h++) {
    const cpu = cpus.child(`cpu@${hex(h)}`);
    cpuPh[h] = nextPhandle++;
    intc[h] = nextPhandle++;
    cpu.prop('device_type', 'cpu').prop('reg', h).prop('status', 'okay').prop('compatible', 'riscv');
    cpu.prop('riscv,isa', riscvIsaString(exts)).prop('riscv,isa-base', 'rv64i').prop('riscv,isa-extensions', exts);
    cpu.prop('mmu-type', cfg.mmuType ?? 'riscv,sv57').prop('phandle', cpuPh[h]);
    const ic = cpu.child('interrupt-controller');
    ic.prop('#interrupt-cells', 1).prop('interrupt-controller', true).prop('compatible', 'riscv,cpu-intc');
    ic.prop('phandle', intc[h]);
  }
  const cluster = cpus.child('cpu-map').child('cluster0');
  for (let h = 0; h < cfg.hartCount; h++) cluster.child(`core${h}`).prop('cpu', cpuPh[h]);

  // Spec: devicetree-0.4 "/memory node"
  const dram = VIRT_MEMMAP.dram.base;
  root.child(`memory@${hex(dram)}`).prop('device_type', 'memory').prop('reg', reg(dram, cfg.ramSize));

  const soc = root.child('soc');
  soc.prop('#address-cells', 2).prop('#size-cells', 2).prop('compatible', 'simple-bus').prop('ranges', true);

  const m = VIRT_MEMMAP;
  const testPh = nextPhandle++;
  soc.child(`test@${hex(m.test.base)}`).prop('compatible', ['sifive,test1', 'sifive,test0', 'syscon'])
    .prop('reg', reg(m.test.base, m.test.size)).prop('phandle', testPh);

  const plicPh = nextPhandle++;
  soc.child(`rtc@${hex(m.rtc.base)}`).prop('compatible', 'google,goldfish-rtc').prop('reg', reg(m.rtc.base, m.rtc.size))
    .prop('interrupt-parent', plicPh).prop('interrupts', VIRT_IRQ.rtc);

  soc.child(`serial@${hex(m.uart0.base)}`).prop('compatible', 'ns16550a').prop('reg', reg(m.uart0.base, m.uart0.size))
    .prop('clock-frequency', VIRT_UART_CLOCK).prop('interrupt-parent', plicPh).prop('interrupts', VIRT_IRQ.uart0);

  // Highest slot first, as QEMU lists them: Linux probes in tree order, and QEMU plugs its
  // first -device into the highest slot, so the first disk becomes vda on both.
  for (let i = VIRT_VIRTIO_COUNT - 1; i >= 0; i--) {
    const base = virtioSlotBase(i);
    soc.child(`virtio_mmio@${hex(base)}`).prop('compatible', 'virtio,mmio').prop('reg', reg(base, m.virtio.size))
      .prop('interrupt-parent', plicPh).prop('interrupts', VIRT_IRQ.virtio + i);
  }

  // PLIC: one interrupts-extended entry per context, in context order (the driver numbers
  // contexts by position), matching plicHartContexts(hartCount, 'MS' | 'S').
  const plicCells: number[] = [];
  for (let h = 0; h < cfg.hartCount; h++) {
    if (cfg.mode === 'firmware') plicCells.push(intc[h], IRQ_M_EXT);
    plicCells.push(intc[h], IRQ_S_EXT);
  }
  soc.child(`plic@${hex(m.plic.base)}`).prop('#interrupt-cells', 1).prop('#address-cells', 0)
    .prop('compatible', ['sifive,plic-1.0.0', 'riscv,plic0']).prop('interrupt-controller', true)
    .prop('interrupts-extended', plicCells).prop('reg', reg(m.plic.base, m.plic.size))
    .prop('riscv,ndev', VIRT_PLIC_NUM_SOURCES - 1).prop('phandle', plicPh);

  if (withClint) {
    const clintCells: number[] = [];
    for (let h = 0; h < cfg.hartCount; h++) clintCells.push(intc[h], IRQ_M_SOFT, intc[h], IRQ_M_TIMER);
    soc.child(`clint@${hex(m.clint.base)}`).prop('compatible', ['sifive,clint0', 'riscv,clint0'])
      .prop('reg', reg(m.clint.base, m.clint.size)).prop('interrupts-extended', clintCells);
  }

  // Linux bindings power/reset/syscon-poweroff.yaml and syscon-reboot.yaml: a write of
  // `value` to `offset` in the regmap (the test device) powers off / reboots.
  root.child('poweroff').prop('compatible', 'syscon-poweroff').prop('regmap', testPh).prop('offset', 0)
    .prop('value', VIRT_POWEROFF_VALUE);
  root.child('reboot').prop('compatible', 'syscon-reboot').prop('regmap', testPh).prop('offset', 0)
    .prop('value', VIRT_REBOOT_VALUE);

  // Spec: devicetree-0.4 "/chosen Node"
  const chosen = root.child('chosen');
  chosen.prop('stdout-path', `/soc/serial@${hex(m.uart0.base)}`);
  if (cfg.bootargs !== undefined) chosen.prop('bootargs', cfg.bootargs);
  if (cfg.initrd) {
    chosen.prop('linux,initrd-start', addrCells(cfg.initrd.start)).prop('linux,initrd-end', addrCells(cfg.initrd.end));
  }
  if (cfg.rngSeed && cfg.rngSeed.length) chosen.prop('rng-seed', cfg.rngSeed);
  return root;
}

/** The flattened device tree of the virt board. */
export function virtFdt(cfg: VirtFdtConfig): Uint8Array {
  return buildDtb(virtFdtTree(cfg), { bootCpuidPhys: cfg.bootHart ?? 0, padding: cfg.padding });
}
