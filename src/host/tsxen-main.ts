// SPDX-License-Identifier: GPL-2.0-only
// `tsxen`: the top-level command. Sub-commands are added by the issues that bring them, as
// one line each in COMMANDS (loaded on demand, so one command's imports never slow another).
const USAGE = `usage: tsxen <command> [options]

commands:
  machine   run a virt board (Linux, vSBI or --bios) or a bare RISC-V machine, QEMU-style flags
  assets    build/fetch the Debian riscv64 guest kernel + initramfs, print their paths
  host      the host daemon (hypervisor, xenstored, xenconsoled, control socket); --stop, --status
  demo      Debian Linux on the virt board, console here (what \`npm start\` runs); --minimark
  help      this text
`;

type Command = (argv: string[]) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  machine: async () => (await import('./machine.ts')).machineCommand,
  demo: async () => (await import('./virt-cli.ts')).demoCommand,
  assets: async () => (await import('./assets/cli.ts')).assetsCommand,
  host: async () => (await import('./host-cli.ts')).hostCommand,
};

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === 'help' || cmd === '--help' || cmd === '-h') {
    process.stdout.write(USAGE);
    return cmd === undefined ? 1 : 0;
  }
  const load = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!load) {
    process.stderr.write(`tsxen: unknown command '${cmd}' (try 'tsxen help')\n`);
    return 1;
  }
  return (await load())(rest);
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`tsxen: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
