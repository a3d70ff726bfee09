// SPDX-License-Identifier: GPL-2.0-only
// Unit tests of the NS16550A model through its registers only (no CPU), following the
// PC16550D data sheet's register descriptions and interrupt priority table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Ns16550a, UART_DLL, UART_DLM, UART_FCR, UART_IER, UART_IIR, UART_LCR, UART_LSR, UART_MCR, UART_MSR, UART_RBR,
  UART_SCR, UART_THR, IER_ERBFI, IER_ETBEI, IER_ELSI, IER_EDSSI, LCR_DLAB, LSR_DR, LSR_OE, LSR_THRE, LSR_TEMT,
  MCR_LOOP, MCR_RTS, MCR_DTR, MCR_OUT1, MCR_OUT2, MSR_CTS, MSR_DSR, MSR_DCD, MSR_RI, MSR_DCTS, MSR_TERI,
} from './ns16550a.ts';

function uart() {
  const tx: number[] = [];
  const levels: boolean[] = [];
  const irq = { level: false, set(l: boolean) { this.level = l; levels.push(l); } };
  const u = new Ns16550a({ irq, onTransmit: (b) => tx.push(b) });
  const r = (off: number) => u.read(off, 1);
  const w = (off: number, v: number) => u.write(off, 1, v);
  return { u, tx, irq, levels, r, w };
}

test('THR writes reach the host sink; LSR says the transmitter is empty', () => {
  const { tx, r, w } = uart();
  for (const c of 'hi\n') w(UART_THR, c.charCodeAt(0));
  assert.deepEqual(tx, [0x68, 0x69, 0x0a]);
  assert.equal(r(UART_LSR) & (LSR_THRE | LSR_TEMT), LSR_THRE | LSR_TEMT);
  assert.equal(r(UART_LSR) & LSR_DR, 0);
});

test('DLAB switches offsets 0 and 1 to the divisor latch, without transmitting', () => {
  const { tx, r, w } = uart();
  w(UART_IER, IER_ERBFI);
  w(UART_LCR, LCR_DLAB | 0x03);
  w(UART_DLL, 0x0c);
  w(UART_DLM, 0x01);
  assert.equal(r(UART_DLL), 0x0c);
  assert.equal(r(UART_DLM), 0x01);
  assert.deepEqual(tx, []);
  w(UART_LCR, 0x03);
  assert.equal(r(UART_IER), IER_ERBFI, 'IER unchanged by the DLM write');
  assert.equal(r(UART_LCR), 0x03);
});

test('scratch register holds a byte; unknown offsets read 0 and ignore writes', () => {
  const { r, w, u } = uart();
  w(UART_SCR, 0xa5);
  assert.equal(r(UART_SCR), 0xa5);
  u.write(0x100, 4, 0xffffffff);
  assert.equal(u.read(0x100, 4), 0);
  assert.equal(u.read(-1, 1), 0);
});

test('received bytes: DR, RDA interrupt in non-FIFO mode; an overrun replaces RBR and sets OE', () => {
  const { u, r, w, irq } = uart();
  w(UART_IER, IER_ERBFI | IER_ELSI);
  assert.equal(irq.level, false);
  assert.equal(u.receive(0x41), true);
  assert.equal(irq.level, true);
  assert.equal(r(UART_IIR) & 0x0f, 0x04, 'received data available');
  assert.equal(r(UART_LSR) & LSR_DR, LSR_DR);
  assert.equal(u.receive(0x42), false, 'holding register full: overrun');
  assert.equal(r(UART_IER), IER_ERBFI | IER_ELSI);
  assert.equal(r(UART_IIR) & 0x0f, 0x06, 'line status outranks received data');
  assert.equal(r(UART_LSR) & LSR_OE, LSR_OE);
  assert.equal(r(UART_LSR) & LSR_OE, 0, 'OE clears when LSR is read');
  assert.equal(r(UART_RBR), 0x42, 'non-FIFO overrun: the new character replaced the old');
  assert.equal(r(UART_IIR) & 0x0f, 0x01, 'nothing pending');
  assert.equal(irq.level, false);
});

test('FIFO mode: IIR bits 7:6, 16-byte depth, trigger level and character timeout', () => {
  const { u, r, w, irq } = uart();
  w(UART_FCR, 0x01 | 0x80); // enable, trigger level 8
  assert.equal(r(UART_IIR), 0xc1);
  w(UART_IER, IER_ERBFI);
  for (let i = 0; i < 7; i++) u.receive(0x30 + i);
  assert.equal(r(UART_IIR) & 0x0f, 0x0c, 'below the trigger: character timeout');
  u.receive(0x37);
  assert.equal(r(UART_IIR) & 0x0f, 0x04, 'at the trigger: data available');
  for (let i = 8; i < 16; i++) assert.equal(u.receive(0x30 + i), true);
  assert.equal(u.rxFree(), 0);
  assert.equal(u.receive(0x99), false, 'the 17th byte overruns');
  const got: number[] = [];
  while (r(UART_LSR) & LSR_DR) got.push(r(UART_RBR));
  assert.deepEqual(got, Array.from({ length: 16 }, (_, i) => 0x30 + i));
  assert.equal(irq.level, false);
});

test('FCR bit 1 clears the receive FIFO; disabling the FIFO clears it too', () => {
  const { u, r, w } = uart();
  w(UART_FCR, 0x01);
  u.receive(1); u.receive(2);
  w(UART_FCR, 0x03);
  assert.equal(r(UART_LSR) & LSR_DR, 0);
  u.receive(3);
  w(UART_FCR, 0x00);
  assert.equal(r(UART_LSR) & LSR_DR, 0);
  assert.equal(r(UART_IIR) & 0xc0, 0);
});

test('THRE interrupt: raised when ETBEI is enabled, cleared by reading IIR, raised again by a THR write', () => {
  const { r, w, irq } = uart();
  w(UART_IER, IER_ETBEI);
  assert.equal(irq.level, true);
  assert.equal(r(UART_IIR) & 0x0f, 0x02);
  assert.equal(irq.level, false, 'reading IIR with THRE as the source clears it');
  assert.equal(r(UART_IIR) & 0x0f, 0x01);
  w(UART_THR, 0x55);
  assert.equal(irq.level, true);
  w(UART_IER, 0);
  assert.equal(irq.level, false, 'masking drops the line');
});

test('THRE ranks below received data', () => {
  const { u, r, w } = uart();
  w(UART_IER, IER_ETBEI | IER_ERBFI);
  u.receive(0x10);
  assert.equal(r(UART_IIR) & 0x0f, 0x04);
  r(UART_RBR);
  assert.equal(r(UART_IIR) & 0x0f, 0x02);
});

test('loopback: THR comes back on RBR, not on the line; MSR mirrors MCR', () => {
  const { u, tx, r, w } = uart();
  w(UART_MCR, MCR_LOOP);
  assert.equal(r(UART_MSR) & 0xf0, 0);
  w(UART_THR, 0x5a);
  assert.deepEqual(tx, []);
  assert.equal(r(UART_LSR) & LSR_DR, LSR_DR);
  assert.equal(r(UART_RBR), 0x5a);
  u.receive(0x77); // the external line is disconnected in loopback
  assert.equal(r(UART_LSR) & LSR_DR, 0);
  w(UART_MCR, MCR_LOOP | MCR_RTS | MCR_DTR | MCR_OUT1 | MCR_OUT2);
  const msr = r(UART_MSR);
  assert.equal(msr & 0xf0, MSR_CTS | MSR_DSR | MSR_RI | MSR_DCD);
  assert.equal(msr & MSR_DCTS, MSR_DCTS);
  assert.equal(r(UART_MSR) & 0x0f, 0, 'delta bits clear on read');
  w(UART_MCR, MCR_LOOP | MCR_RTS | MCR_DTR | MCR_OUT2); // RI falls: trailing edge
  assert.equal(r(UART_MSR) & MSR_TERI, MSR_TERI);
});

test('modem status interrupt has the lowest priority and clears on MSR read', () => {
  const { r, w, irq } = uart();
  w(UART_IER, IER_EDSSI);
  w(UART_MCR, MCR_LOOP | MCR_RTS);
  assert.equal(irq.level, true);
  assert.equal(r(UART_IIR) & 0x0f, 0x00);
  r(UART_MSR);
  assert.equal(irq.level, false);
  assert.equal(r(UART_IIR) & 0x0f, 0x01);
});

test('not in loopback the host side reads as connected (DCD, DSR, CTS)', () => {
  const { r } = uart();
  assert.equal(r(UART_MSR) & 0xf0, MSR_DCD | MSR_DSR | MSR_CTS);
});

test('IER keeps only its four defined bits', () => {
  const { r, w } = uart();
  w(UART_IER, 0xff);
  assert.equal(r(UART_IER), IER_ERBFI | IER_ETBEI | IER_ELSI | IER_EDSSI);
});

test('save/restore: a second UART continues exactly where the first stopped', () => {
  const a = uart();
  a.w(UART_FCR, 0x41); // FIFO on, trigger 4
  a.w(UART_IER, IER_ERBFI | IER_ETBEI);
  a.w(UART_SCR, 0x77);
  a.w(UART_LCR, LCR_DLAB); a.w(UART_DLL, 3); a.w(UART_LCR, 0x03);
  for (const c of [1, 2, 3]) a.u.receive(c);
  a.r(UART_RBR); // the FIFO ring now starts at index 1
  const st = a.u.saveState();
  const b = uart();
  assert.equal(b.u.restoreState(structuredClone(st)), true);
  assert.equal(b.irq.level, true, 'the restored UART drives its interrupt line');
  assert.deepEqual(b.u.saveState(), st);
  assert.equal(b.r(UART_IIR), a.r(UART_IIR));
  assert.deepEqual([b.r(UART_RBR), b.r(UART_RBR)], [2, 3]);
  assert.equal(b.r(UART_SCR), 0x77);
  b.w(UART_LCR, LCR_DLAB);
  assert.equal(b.r(UART_DLL), 3);
});

test('restoreState refuses malformed snapshots', () => {
  const { u } = uart();
  const good = u.saveState();
  assert.equal(u.restoreState({ ...good, rx: [1, 2] }), false, 'two bytes without a FIFO');
  assert.equal(u.restoreState({ ...good, rx: [256] }), false);
  assert.equal(u.restoreState({ ...good, ier: -1 }), false);
  assert.equal(u.restoreState({ ...good, version: 2 } as unknown as typeof good), false);
  assert.equal(u.restoreState(good), true);
});

test('hostile register traffic: never throws, IIR always a defined code, DR agrees with the FIFO', () => {
  const { u, irq } = uart();
  let x = 0xc0ffee;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  const sizes = [1, 2, 4, 3, 8, 0];
  for (let i = 0; i < 20000; i++) {
    const op = rnd() % 4, off = rnd() % 10 - 1, size = sizes[rnd() % sizes.length];
    if (op === 0) u.write(off, size, rnd());
    else if (op === 1) u.read(off, size);
    else if (op === 2) u.receive(rnd() & 0x1ff);
    else {
      const lcr = u.read(UART_LCR, 1);
      u.write(UART_LCR, 1, lcr & 0x7f); // DLAB off so IIR/LSR/RBR are visible
      const iir = u.read(UART_IIR, 1);
      assert.ok([0x01, 0x06, 0x04, 0x0c, 0x02, 0x00].includes(iir & 0x0f), `IIR 0x${iir.toString(16)}`);
      assert.ok((iir & 0x30) === 0);
      const lsr = u.read(UART_LSR, 1);
      const fifo = (u.read(UART_IIR, 1) & 0xc0) === 0xc0 ? 16 : 1;
      assert.equal((lsr & LSR_DR) !== 0, u.rxFree() < fifo);
      assert.equal(irq.level, (u.read(UART_IIR, 1) & 1) === 0, 'the line is high exactly when IIR shows a pending interrupt');
    }
  }
});
