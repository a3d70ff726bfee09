// SPDX-License-Identifier: GPL-2.0-only
// The PV kernel (guests/pv) builds with Debian's RISC-V cross compiler, its ELF is well formed
// (readelf: ELF64 RISC-V ET_EXEC, entry = _start = 0x8020_0000, a R+X text and a R+W data
// PT_LOAD, nothing writable and executable) and loads with src/hardware/loader/elf.ts; and the
// structure layouts the kernel's C headers give (compiled for RV64 LP64) are the ones the
// hypervisor's src/hypervisor/public/ constants use (docs/abi.md §3-§7).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildPvKernel, CFLAGS, CROSS } from '../../guests/pv/build.mjs';
import { loadElf, parseElf, type LoadTarget } from '../../src/hardware/loader/elf.ts';
import * as G from '../../src/hypervisor/public/grant-table.ts';
import * as S from '../../src/hypervisor/public/shared-info.ts';
import * as V from '../../src/hypervisor/public/vcpu.ts';
import * as M from '../../src/hypervisor/public/memory.ts';

const root = join(import.meta.dirname, '..', '..');
const readelf = (args: string[], f: string): string => execFileSync(`${CROSS}readelf`, [...args, f], { encoding: 'utf8' });

test('the PV kernel builds and its ELF is well formed', () => {
  const elf = buildPvKernel({ force: true });
  const h = readelf(['-h'], elf);
  assert.match(h, /Class:\s+ELF64/);
  assert.match(h, /Machine:\s+RISC-V/);
  assert.match(h, /Type:\s+EXEC/);
  assert.match(h, /Entry point address:\s+0x80200000/);
  const syms = readelf(['-sW'], elf);
  const sym = (name: string): number => {
    const m = new RegExp(`:\\s+([0-9a-f]+)\\s+\\d+\\s+\\w+\\s+\\w+\\s+\\w+\\s+\\S+\\s+${name.replace('$', '\\$')}$`, 'm').exec(syms);
    assert.ok(m, `symbol ${name} missing`);
    return parseInt(m[1]!, 16);
  };
  assert.equal(sym('_start'), 0x80200000);
  assert.equal(sym('trap_entry') % 4, 0, 'stvec direct mode needs a 4-byte aligned vector');
  for (const s of ['kernel_main', 'trap_handler', 'evtchn_handle_upcall', 'test_hostile']) sym(s);
  const loads = [...readelf(['-lW'], elf).matchAll(/^\s+LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+([RWE ]+?)\s+0x/gm)];
  assert.equal(loads.length, 2);
  const flags = loads.map((m) => m[6]!.replace(/\s/g, ''));
  assert.deepEqual(flags, ['RE', 'RW']);
  for (const m of loads) assert.ok(parseInt(m[3]!, 16) >= 0x80200000, 'segments sit at or above 0x8020_0000');
});

test('the PV kernel loads with the project ELF loader', () => {
  const bytes = new Uint8Array(readFileSync(buildPvKernel()));
  const img = parseElf(bytes);
  assert.equal(img.entry, 0x80200000);
  const ram = new Uint8Array(4 << 20);
  const base = 0x80000000;
  const target: LoadTarget = {
    ramBase: base,
    ramSize: ram.length,
    writePhys: (pa, b) => (ram.set(b, pa - base), true),
    zeroPhys: (pa, n) => (ram.fill(0, pa - base, pa - base + n), true),
  };
  assert.equal(loadElf(bytes, img, target), 0x80200000);
  // The first instruction at the entry is what objdump says it is.
  const dis = execFileSync(`${CROSS}objdump`, ['-d', '--start-address=0x80200000', '--stop-address=0x80200008', buildPvKernel()], { encoding: 'utf8' });
  const m = /80200000:\s+([0-9a-f]+)\s/.exec(dis);
  assert.ok(m);
  const word = m[1]!.length === 4 ? ram[0x200000]! | (ram[0x200001]! << 8) : new DataView(ram.buffer).getUint32(0x200000, true);
  assert.equal(word, parseInt(m[1]!, 16));
});

/** offsetof/sizeof values of the kernel's headers, compiled for RV64 LP64 (read back from the assembly). */
function layouts(exprs: Record<string, string>): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'pv-abi-'));
  try {
    const names = Object.keys(exprs);
    const src = `#include "xen.h"\n#define offsetof(t, m) __builtin_offsetof(t, m)\nconst unsigned long probe[] = {\n${names.map((n) => `\t${exprs[n]}, /* ${n} */`).join('\n')}\n};\n`;
    writeFileSync(join(dir, 'probe.c'), src);
    const asm = execFileSync(`${CROSS}gcc`, [...CFLAGS, '-I', join(root, 'guests/pv/include'), '-S', '-o', '-', join(dir, 'probe.c')], { encoding: 'utf8' });
    const vals = [...asm.matchAll(/^\s+\.dword\s+(\d+)/gm)].map((m) => Number(m[1]));
    assert.equal(vals.length, names.length);
    return Object.fromEntries(names.map((n, i) => [n, vals[i]!]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('the kernel headers and the hypervisor agree on every shared layout', () => {
  const want: Record<string, [string, number]> = {
    sti_nr_pages: ['offsetof(struct start_info, nr_pages)', S.STI_NR_PAGES],
    sti_shared_info: ['offsetof(struct start_info, shared_info)', S.STI_SHARED_INFO],
    sti_flags: ['offsetof(struct start_info, flags)', S.STI_FLAGS],
    sti_store_mfn: ['offsetof(struct start_info, store_mfn)', S.STI_STORE_MFN],
    sti_store_evtchn: ['offsetof(struct start_info, store_evtchn)', S.STI_STORE_EVTCHN],
    sti_console_mfn: ['offsetof(struct start_info, console_mfn)', S.STI_CONSOLE_MFN],
    sti_console_evtchn: ['offsetof(struct start_info, console_evtchn)', S.STI_CONSOLE_EVTCHN],
    sti_mod_start: ['offsetof(struct start_info, mod_start)', S.STI_MOD_START],
    sti_cmd_line: ['offsetof(struct start_info, cmd_line)', S.STI_CMD_LINE],
    sti_first_p2m: ['offsetof(struct start_info, first_p2m_pfn)', S.STI_FIRST_P2M_PFN],
    sti_size: ['sizeof(struct start_info)', S.START_INFO_SIZE],
    vti_tsc: ['offsetof(struct vcpu_time_info, tsc_timestamp)', S.VTI_TSC_TIMESTAMP],
    vti_sys: ['offsetof(struct vcpu_time_info, system_time)', S.VTI_SYSTEM_TIME],
    vti_mul: ['offsetof(struct vcpu_time_info, tsc_to_system_mul)', S.VTI_TSC_TO_SYSTEM_MUL],
    vti_shift: ['offsetof(struct vcpu_time_info, tsc_shift)', S.VTI_TSC_SHIFT],
    vti_size: ['sizeof(struct vcpu_time_info)', S.VTI_SIZE],
    vi_sel: ['offsetof(struct vcpu_info, evtchn_pending_sel)', S.VI_EVTCHN_PENDING_SEL],
    vi_time: ['offsetof(struct vcpu_info, time)', S.VI_TIME],
    vi_size: ['sizeof(struct vcpu_info)', S.VCPU_INFO_SIZE],
    si_pending: ['offsetof(struct shared_info, evtchn_pending)', S.SI_EVTCHN_PENDING],
    si_mask: ['offsetof(struct shared_info, evtchn_mask)', S.SI_EVTCHN_MASK],
    si_wc_version: ['offsetof(struct shared_info, wc_version)', S.SI_WC_VERSION],
    si_wc_sec_hi: ['offsetof(struct shared_info, wc_sec_hi)', S.SI_WC_SEC_HI],
    si_size: ['sizeof(struct shared_info)', S.SHARED_INFO_SIZE],
    map_status: ['offsetof(struct gnttab_map_grant_ref, status)', G.MAP_GRANT_REF.status],
    map_handle: ['offsetof(struct gnttab_map_grant_ref, handle)', G.MAP_GRANT_REF.handle],
    map_size: ['sizeof(struct gnttab_map_grant_ref)', G.MAP_GRANT_REF.size],
    unmap_status: ['offsetof(struct gnttab_unmap_grant_ref, status)', G.UNMAP_GRANT_REF.status],
    unmap_size: ['sizeof(struct gnttab_unmap_grant_ref)', G.UNMAP_GRANT_REF.size],
    setup_frames: ['offsetof(struct gnttab_setup_table, frame_list)', G.SETUP_TABLE.frame_list],
    setup_status: ['offsetof(struct gnttab_setup_table, status)', G.SETUP_TABLE.status],
    copy_dest: ['offsetof(struct gnttab_copy, dest)', G.COPY.dest],
    copy_dest_off: ['offsetof(struct gnttab_copy, dest.offset)', G.COPY.dest + G.COPY.ptr_offset],
    copy_len: ['offsetof(struct gnttab_copy, len)', G.COPY.len],
    copy_status: ['offsetof(struct gnttab_copy, status)', G.COPY.status],
    copy_size: ['sizeof(struct gnttab_copy)', G.COPY.size],
    qs_status: ['offsetof(struct gnttab_query_size, status)', G.QUERY_SIZE.status],
    sst_flags: ['offsetof(struct vcpu_set_singleshot_timer, flags)', V.SST_FLAGS],
    sst_size: ['sizeof(struct vcpu_set_singleshot_timer)', V.SINGLESHOT_TIMER_SIZE],
    sst_op: ['VCPUOP_set_singleshot_timer', V.VCPUOP_set_singleshot_timer],
    rvi_offset: ['offsetof(struct vcpu_register_vcpu_info, offset)', V.RVI_OFFSET],
    rvi_size: ['sizeof(struct vcpu_register_vcpu_info)', V.REGISTER_VCPU_INFO_SIZE],
    vgc_a1: ['offsetof(struct vcpu_guest_context, a1)', V.VGC_A1],
    vgc_sp: ['offsetof(struct vcpu_guest_context, sp)', V.VGC_SP],
    vgc_satp: ['offsetof(struct vcpu_guest_context, satp)', V.VGC_SATP],
    vgc_size: ['sizeof(struct vcpu_guest_context)', V.VCPU_GUEST_CONTEXT_SIZE],
    atp_space: ['offsetof(struct xen_add_to_physmap, space)', M.ATP_SPACE],
    atp_gpfn: ['offsetof(struct xen_add_to_physmap, gpfn)', M.ATP_GPFN],
    atp_size: ['sizeof(struct xen_add_to_physmap)', M.ADD_TO_PHYSMAP_SIZE],
    magic_base: ['GUEST_MAGIC_BASE', S.GUEST_MAGIC_BASE],
    ram_base: ['GUEST_RAM_BASE', S.GUEST_RAM_BASE],
    grant_gpa: ['MAGIC_GRANT_GPA', S.GUEST_MAGIC_BASE + S.MAGIC_GRANT_BASE * 4096],
  };
  const got = layouts(Object.fromEntries(Object.entries(want).map(([k, [e]]) => [k, e])));
  for (const [k, [, v]] of Object.entries(want)) assert.equal(got[k], v, k);
});
