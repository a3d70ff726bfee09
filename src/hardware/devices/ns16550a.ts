// SPDX-License-Identifier: GPL-2.0-only
// NS16550A UART (the `ns16550a` of QEMU's virt board), reg-shift 0, 8-bit registers.
// Follows the National Semiconductor PC16550D data sheet's register model: 16-byte RX/TX
// FIFOs, interrupt identification by priority, THRE interrupt, DLAB, loopback.
// Leaves out: baud-rate timing (a byte is transmitted the moment THR is written, so the
// transmitter is always empty again on return), parity/framing errors (the host link is
// lossless), DMA mode signalling.
//
//   off  DLAB=0 read   DLAB=0 write   DLAB=1
//   0x0  RBR           THR            DLL (divisor latch low)
//   0x1  IER           IER            DLM (divisor latch high)
//   0x2  IIR           FCR
//   0x3  LCR  (bit 7 = DLAB)
//   0x4  MCR  (0 DTR, 1 RTS, 2 OUT1, 3 OUT2, 4 LOOP)
//   0x5  LSR  (0 DR, 1 OE, 2 PE, 3 FE, 4 BI, 5 THRE, 6 TEMT, 7 RXFIFO error)
//   0x6  MSR  (0 DCTS, 1 DDSR, 2 TERI, 3 DDCD, 4 CTS, 5 DSR, 6 RI, 7 DCD)
//   0x7  SCR  (scratch)
//
// Interrupts, highest priority first (IIR bits 3:0; bit 0 = 1 means none pending):
//   0x6 receiver line status (OE/BI)   cleared by reading LSR
//   0x4 received data available        RX level >= trigger level; cleared by reading below it
//   0xC character timeout (FIFO mode)  data below the trigger level and the line idle
//   0x2 THR empty                      cleared by reading IIR (when it is the source) or writing THR
//   0x0 modem status                   cleared by reading MSR
// The receiver counts as idle as soon as receive() returns: the host delivers each chunk of
// input before the guest runs again, so "4 character times without input" has passed by the
// time the guest can look.
import { NO_IRQ, type IrqLine, type MmioDevice } from '../bus/mmio.ts';

export const UART_RBR = 0, UART_THR = 0, UART_DLL = 0;
export const UART_IER = 1, UART_DLM = 1;
export const UART_IIR = 2, UART_FCR = 2;
export const UART_LCR = 3, UART_MCR = 4, UART_LSR = 5, UART_MSR = 6, UART_SCR = 7;

export const IER_ERBFI = 0x01, IER_ETBEI = 0x02, IER_ELSI = 0x04, IER_EDSSI = 0x08;
export const IIR_NO_INT = 0x01, IIR_RLS = 0x06, IIR_RDA = 0x04, IIR_CTI = 0x0c, IIR_THRE = 0x02, IIR_MSI = 0x00;
export const IIR_FIFO_ENABLED = 0xc0;
export const FCR_ENABLE = 0x01, FCR_CLEAR_RX = 0x02, FCR_CLEAR_TX = 0x04;
export const LCR_DLAB = 0x80;
export const MCR_DTR = 0x01, MCR_RTS = 0x02, MCR_OUT1 = 0x04, MCR_OUT2 = 0x08, MCR_LOOP = 0x10;
export const LSR_DR = 0x01, LSR_OE = 0x02, LSR_PE = 0x04, LSR_FE = 0x08, LSR_BI = 0x10;
export const LSR_THRE = 0x20, LSR_TEMT = 0x40, LSR_RXFE = 0x80;
export const MSR_DCTS = 0x01, MSR_DDSR = 0x02, MSR_TERI = 0x04, MSR_DDCD = 0x08;
export const MSR_CTS = 0x10, MSR_DSR = 0x20, MSR_RI = 0x40, MSR_DCD = 0x80;

const FIFO_SIZE = 16;
const RX_TRIGGER = [1, 4, 8, 14];

/** Plain snapshot of the UART (save/restore, migration). The RX FIFO is listed oldest first. */
export interface Ns16550aState {
  readonly version: 1;
  readonly rx: number[];
  readonly ier: number;
  readonly lcr: number;
  readonly mcr: number;
  readonly fcr: number;
  readonly lsrErrors: number;
  readonly msrDelta: number;
  readonly scr: number;
  readonly dll: number;
  readonly dlm: number;
  readonly threPending: boolean;
}

export interface Ns16550aOptions {
  irq?: IrqLine;
  /** Called once per byte the guest transmits (not in loopback mode). */
  onTransmit: (byte: number) => void;
}

export class Ns16550a implements MmioDevice {
  readonly name = 'uart';
  private readonly irq: IrqLine;
  private readonly onTransmit: (byte: number) => void;
  // RX FIFO as a ring; in non-FIFO mode its depth is 1 (the receiver holding register).
  private readonly rx = new Uint8Array(FIFO_SIZE);
  private rxHead = 0;
  private rxCount = 0;
  private ier = 0;
  private lcr = 0;
  private mcr = 0;
  private lsrErrors = 0; // OE | BI, latched until LSR is read
  private msrDelta = 0; // DCTS | DDSR | TERI | DDCD, latched until MSR is read
  private scr = 0;
  private dll = 0;
  private dlm = 0;
  private fcr = 0;
  private threPending = false;
  private irqLevel = false;

  constructor(opts: Ns16550aOptions) {
    this.irq = opts.irq ?? NO_IRQ;
    this.onTransmit = opts.onTransmit;
    this.irq.set(false);
  }

  private get fifoEnabled(): boolean {
    return (this.fcr & FCR_ENABLE) !== 0;
  }

  private get rxDepth(): number {
    return this.fifoEnabled ? FIFO_SIZE : 1;
  }

  /** Bytes the receiver can still take before it overruns. */
  rxFree(): number {
    return this.rxDepth - this.rxCount;
  }

  /** A byte arriving on the serial line from the host. Returns false on overrun (byte lost). */
  receive(byte: number): boolean {
    if ((this.mcr & MCR_LOOP) !== 0) return true; // the line is disconnected in loopback
    const ok = this.pushRx(byte);
    this.update();
    return ok;
  }

  private pushRx(byte: number): boolean {
    if (this.rxCount >= this.rxDepth) {
      // PC16550D, LSR bit 1 (OE): in the 16450 (non-FIFO) mode the new character overwrites
      // the unread one in RBR; in FIFO mode the FIFO keeps its contents and the character in
      // the shift register is lost.
      this.lsrErrors |= LSR_OE;
      if (!this.fifoEnabled) this.rx[this.rxHead] = byte & 0xff;
      return false;
    }
    this.rx[(this.rxHead + this.rxCount) % FIFO_SIZE] = byte & 0xff;
    this.rxCount++;
    return true;
  }

  private popRx(): number {
    if (this.rxCount === 0) return 0;
    const b = this.rx[this.rxHead];
    this.rxHead = (this.rxHead + 1) % FIFO_SIZE;
    this.rxCount--;
    return b;
  }

  /** The highest-priority pending interrupt as an IIR identification code (IIR_NO_INT if none). */
  private pendingId(): number {
    const ier = this.ier;
    if ((ier & IER_ELSI) !== 0 && (this.lsrErrors & (LSR_OE | LSR_BI)) !== 0) return IIR_RLS;
    if ((ier & IER_ERBFI) !== 0 && this.rxCount > 0) {
      if (!this.fifoEnabled) return IIR_RDA;
      return this.rxCount >= RX_TRIGGER[this.fcr >> 6] ? IIR_RDA : IIR_CTI;
    }
    if ((ier & IER_ETBEI) !== 0 && this.threPending) return IIR_THRE;
    if ((ier & IER_EDSSI) !== 0 && this.msrDelta !== 0) return IIR_MSI;
    return IIR_NO_INT;
  }

  private update(): void {
    const level = this.pendingId() !== IIR_NO_INT;
    if (level !== this.irqLevel) {
      this.irqLevel = level;
      this.irq.set(level);
    }
  }

  private modemStatus(): number {
    const m = this.mcr;
    if ((m & MCR_LOOP) !== 0) {
      // Loopback: CTS = RTS, DSR = DTR, RI = OUT1, DCD = OUT2.
      return ((m & MCR_RTS) ? MSR_CTS : 0) | ((m & MCR_DTR) ? MSR_DSR : 0) |
        ((m & MCR_OUT1) ? MSR_RI : 0) | ((m & MCR_OUT2) ? MSR_DCD : 0);
    }
    return MSR_DCD | MSR_DSR | MSR_CTS; // the host side of the line is always connected
  }

  read(offset: number, _size: number): number {
    let v = 0;
    switch (offset) {
      case UART_RBR:
        if ((this.lcr & LCR_DLAB) !== 0) return this.dll;
        v = this.popRx();
        break;
      case UART_IER:
        return (this.lcr & LCR_DLAB) !== 0 ? this.dlm : this.ier;
      case UART_IIR: {
        const id = this.pendingId();
        if (id === IIR_THRE) this.threPending = false;
        v = id | (this.fifoEnabled ? IIR_FIFO_ENABLED : 0);
        break;
      }
      case UART_LCR:
        return this.lcr;
      case UART_MCR:
        return this.mcr;
      case UART_LSR:
        v = LSR_THRE | LSR_TEMT | this.lsrErrors | (this.rxCount > 0 ? LSR_DR : 0);
        this.lsrErrors = 0;
        break;
      case UART_MSR:
        v = this.modemStatus() | this.msrDelta;
        this.msrDelta = 0;
        break;
      case UART_SCR:
        return this.scr;
      default:
        return 0;
    }
    this.update();
    return v;
  }

  write(offset: number, _size: number, value: number): void {
    const b = value & 0xff;
    switch (offset) {
      case UART_THR:
        if ((this.lcr & LCR_DLAB) !== 0) { this.dll = b; return; }
        if ((this.mcr & MCR_LOOP) !== 0) this.pushRx(b);
        else this.onTransmit(b);
        this.threPending = true; // transmitted at once: THR is empty again
        break;
      case UART_IER:
        if ((this.lcr & LCR_DLAB) !== 0) { this.dlm = b; return; }
        // Enabling ETBEI while THR is empty raises the THRE interrupt straight away.
        if ((b & IER_ETBEI) !== 0 && (this.ier & IER_ETBEI) === 0) this.threPending = true;
        this.ier = b & 0x0f;
        break;
      case UART_FCR: {
        const wasOn = this.fifoEnabled;
        if (((b & FCR_ENABLE) !== 0) !== wasOn || (b & FCR_CLEAR_RX) !== 0) { this.rxHead = 0; this.rxCount = 0; }
        // The TX FIFO is always empty here (transmission is immediate): nothing to clear.
        this.fcr = (b & FCR_ENABLE) !== 0 ? b & 0xc9 : 0;
        break;
      }
      case UART_LCR:
        this.lcr = b;
        return;
      case UART_MCR: {
        const before = this.modemStatus();
        this.mcr = b & 0x1f;
        const after = this.modemStatus();
        const changed = before ^ after;
        if (changed & MSR_CTS) this.msrDelta |= MSR_DCTS;
        if (changed & MSR_DSR) this.msrDelta |= MSR_DDSR;
        if (changed & MSR_DCD) this.msrDelta |= MSR_DDCD;
        if ((before & MSR_RI) !== 0 && (after & MSR_RI) === 0) this.msrDelta |= MSR_TERI; // trailing edge
        break;
      }
      case UART_SCR:
        this.scr = b;
        return;
      default:
        return; // LSR and MSR are read-only
    }
    this.update();
  }

  saveState(): Ns16550aState {
    const rx: number[] = [];
    for (let i = 0; i < this.rxCount; i++) rx.push(this.rx[(this.rxHead + i) % FIFO_SIZE]);
    return { version: 1, rx, ier: this.ier, lcr: this.lcr, mcr: this.mcr, fcr: this.fcr, lsrErrors: this.lsrErrors,
      msrDelta: this.msrDelta, scr: this.scr, dll: this.dll, dlm: this.dlm, threPending: this.threPending };
  }

  /** Restore a snapshot (it is hostile input too: anything out of range is refused). */
  restoreState(st: Ns16550aState): boolean {
    const byte = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xff;
    if (st.version !== 1 || !Array.isArray(st.rx) || !st.rx.every(byte) || typeof st.threPending !== 'boolean') return false;
    if (![st.ier, st.lcr, st.mcr, st.fcr, st.lsrErrors, st.msrDelta, st.scr, st.dll, st.dlm].every(byte)) return false;
    const depth = (st.fcr & FCR_ENABLE) !== 0 ? FIFO_SIZE : 1;
    if (st.rx.length > depth) return false;
    this.ier = st.ier & 0x0f; this.lcr = st.lcr; this.mcr = st.mcr & 0x1f;
    this.fcr = (st.fcr & FCR_ENABLE) !== 0 ? st.fcr & 0xc9 : 0;
    this.lsrErrors = st.lsrErrors & (LSR_OE | LSR_BI); this.msrDelta = st.msrDelta & 0x0f;
    this.scr = st.scr; this.dll = st.dll; this.dlm = st.dlm; this.threPending = st.threPending;
    this.rxHead = 0; this.rxCount = st.rx.length;
    this.rx.set(st.rx);
    this.irqLevel = this.pendingId() !== IIR_NO_INT;
    this.irq.set(this.irqLevel); // drive the line to the restored level whatever it was
    return true;
  }
}
