// SPDX-License-Identifier: GPL-2.0-only
// The control operations libxl carries out through xenstore rather than a domctl: the PV
// control node (~/control/shutdown for xl shutdown/reboot, ~/control/sysrq), vCPU availability
// (~/cpu/N/availability for vcpu-set) and the balloon target (~/memory/target for mem-set).
// Each validates first, then writes, so bad input changes nothing.
// Xen 4.7: tools/libxl/libxl.c libxl__domain_pvcontrol, libxl_send_sysrq,
// libxl__set_vcpuonline_xenstore, libxl_set_memory_target
import type { Ctrl } from '../toolstack/ctrl/ctrl.ts';
import { CtrlError } from '../toolstack/ctrl/protocol.ts';
import { MAXMEM_SLACK_PAGES } from '../hypervisor/domain/config.ts';
import type { XenstoreClient } from './host-xenstore.ts';

const PV_COMMANDS = ['poweroff', 'reboot', 'suspend', 'halt'];

export class HostDomctl {
  constructor(private readonly ctrl: Ctrl, private readonly xs: () => XenstoreClient | undefined) {}

  private store(what: string): XenstoreClient {
    const xs = this.xs();
    if (xs === undefined) throw new CtrlError('ENOSYS', `${what}: this host runs without xenstored`);
    return xs;
  }

  private guest(domid: unknown, what: string) {
    const d = this.ctrl.domain(domid);
    if (d.domid === 0) throw new CtrlError('EINVAL', `cannot ${what} Domain-0`);
    return d;
  }

  /**
   * libxl__domain_pvcontrol: PV guests always have the control node; an HVM guest only with PV
   * drivers (HVM_PARAM_CALLBACK_IRQ set). tsxen's HVM guests run unmodified (no Xen platform
   * device), so they never have it: EOPNOTSUPP, libxl's ERROR_NOPARAVIRT.
   */
  async pvcontrol(domid: unknown, command: unknown): Promise<void> {
    const d = this.guest(domid, 'send a PV control command to');
    if (typeof command !== 'string' || !PV_COMMANDS.includes(command))
      throw new CtrlError('EINVAL', `invalid PV control command ${JSON.stringify(command)} (one of ${PV_COMMANDS.join(', ')})`, 'command');
    if (!d.isPv) throw new CtrlError('EOPNOTSUPP', `d${d.domid}: PV control interface not available (HVM guest without PV drivers)`);
    await this.store('pvcontrol').write(`/local/domain/${d.domid}/control/shutdown`, command);
  }

  async sysrq(domid: unknown, key: unknown): Promise<void> {
    const d = this.guest(domid, 'send a sysrq to');
    if (typeof key !== 'string' || key.length !== 1 || key.charCodeAt(0) < 0x21 || key.charCodeAt(0) > 0x7e)
      throw new CtrlError('EINVAL', `invalid sysrq ${JSON.stringify(key)}: need one printable character`, 'key');
    await this.store('sysrq').write(`/local/domain/${d.domid}/control/sysrq`, key);
  }

  /** libxl_set_vcpuonline: at most max_vcpus; each vCPU's availability written (the guest hot-plugs). */
  async setOnline(domid: unknown, count: unknown): Promise<void> {
    const d = this.guest(domid, 'set the vCPUs of');
    const max = d.vcpus.length;
    if (typeof count !== 'number' || !Number.isInteger(count) || count < 1)
      throw new CtrlError('EINVAL', `invalid vCPU count ${JSON.stringify(count)}`, 'count');
    if (count > max) throw new CtrlError('EINVAL', `Requested ${count} VCPUs, however maxcpus is ${max}!`, 'count');
    const xs = this.store('vcpu-set');
    for (let i = 0; i < max; i++) await xs.write(`/local/domain/${d.domid}/cpu/${i}/availability`, i < count ? 'online' : 'offline');
  }

  /**
   * libxl_set_memory_target (absolute, enforce): the target may not exceed ~/memory/static-max;
   * max_pages follows (target + libxl's slack), then ~/memory/target for the balloon driver.
   */
  async setTarget(domid: unknown, kib: unknown): Promise<void> {
    const d = this.guest(domid, 'set the memory target of');
    if (typeof kib !== 'number' || !Number.isInteger(kib) || kib < 0) throw new CtrlError('EINVAL', `invalid memory target ${JSON.stringify(kib)} KiB`, 'targetKiB');
    const xs = this.store('mem-set');
    const staticMax = Number(await xs.read(`/local/domain/${d.domid}/memory/static-max`) ?? String(d.maxPages * 4));
    if (kib > staticMax) throw new CtrlError('EINVAL', `memory_dynamic_max must be less than or equal to memory_static_max (${kib} > ${staticMax} KiB)`, 'targetKiB');
    this.ctrl.hv.setMaxPages(d, Math.ceil(kib / 4) + MAXMEM_SLACK_PAGES);
    await xs.write(`/local/domain/${d.domid}/memory/target`, String(kib));
  }
}
