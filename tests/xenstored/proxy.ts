// SPDX-License-Identifier: GPL-2.0-only
// A recording proxy between a real client and the daemon: logs every frame in each direction,
// so tests can check the exact bytes a Debian client sends and the exact bytes we answer.
import net from 'node:net';
import { parseFrames, type Frame } from './harness.ts';

export interface Recording { toServer: Buffer; toClient: Buffer }

export async function recordingProxy(listenPath: string, daemonPath: string): Promise<{ rec: Recording[]; close(): void }> {
  const rec: Recording[] = [];
  const server = net.createServer((c) => {
    const r: Recording = { toServer: Buffer.alloc(0), toClient: Buffer.alloc(0) };
    rec.push(r);
    const d = net.connect(daemonPath);
    c.on('data', (b) => { r.toServer = Buffer.concat([r.toServer, b]); d.write(b); });
    d.on('data', (b) => { r.toClient = Buffer.concat([r.toClient, b]); c.write(b); });
    c.on('close', () => d.destroy());
    d.on('close', () => c.destroy());
    c.on('error', () => {}); d.on('error', () => {});
  });
  await new Promise<void>((res) => server.listen(listenPath, res));
  return { rec, close: () => server.close() };
}

export function frames(b: Buffer): Frame[] { return parseFrames(b); }
