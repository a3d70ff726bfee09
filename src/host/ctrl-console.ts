// SPDX-License-Identifier: GPL-2.0-only
// The terminal side of `xl console` / `xl create -c`: attach to a domain's console through the
// control socket, put the local tty in raw mode, copy bytes both ways until Ctrl-] (detach) or
// the host closes the console (the domain went away), then restore the tty.
import type { Readable, Writable } from 'node:stream';
import { CtrlClient } from './ctrl-client.ts';

export interface ConsoleStreams {
  stdin: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  stdout: Writable;
}

/** Returns how the console ended: 'detached' (Ctrl-]) or 'closed by the host'. */
export async function runConsole(socketPath: string, domid: number, io: ConsoleStreams, o: { history?: boolean } = {}): Promise<string> {
  const client = await CtrlClient.connect(socketPath);
  const att = await client.attachConsole(domid, (b) => void io.stdout.write(b), o).catch((e: unknown) => {
    client.close();
    throw e;
  });
  const raw = io.stdin.isTTY === true && typeof io.stdin.setRawMode === 'function';
  if (raw) io.stdin.setRawMode!(true);
  const onData = (b: Buffer): void => {
    if (!att.input(new Uint8Array(b.buffer, b.byteOffset, b.length))) stop();
  };
  const stop = (): void => {
    io.stdin.off('data', onData);
    io.stdin.pause();
    if (raw) io.stdin.setRawMode!(false);
  };
  io.stdin.on('data', onData);
  io.stdin.resume();
  const why = await att.closed;
  stop();
  client.close();
  return why;
}
