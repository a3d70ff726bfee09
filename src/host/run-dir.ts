// SPDX-License-Identifier: GPL-2.0-only
// Where a tsxen host keeps its sockets, pid file and logs, shared by `tsxen host` and `xl` so
// both find the same host. Kept in its own module so xl's bundle does not pull in the daemon.
import { join, resolve } from 'node:path';

/** $TSXEN_RUNDIR, else /run/tsxen as root, else $XDG_RUNTIME_DIR/tsxen, else /tmp/tsxen-<uid>. */
export function defaultRunDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TSXEN_RUNDIR) return resolve(env.TSXEN_RUNDIR);
  if (process.getuid?.() === 0) return '/run/tsxen';
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'tsxen');
  return `/tmp/tsxen-${process.getuid?.() ?? 'user'}`;
}
