// SPDX-License-Identifier: GPL-2.0-only
// `tsxen`: the top-level command. Sub-commands are added by the issues that bring them.
const USAGE = `usage: tsxen <command> [options]

commands:
  machine   run a bare RISC-V machine (no hypervisor), QEMU-style flags
  assets    build/fetch the Debian riscv64 guest kernel + initramfs, print their paths
  demo      the built-in demo (what \`npm start\` runs)
  help      this text
`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return cmd === undefined ? 1 : 0;
    case 'assets':
      return (await import('./assets/cli.ts')).assetsCommand(rest);
    default:
      process.stderr.write(`tsxen: unknown command '${cmd}' (try 'tsxen help')\n`);
      void rest;
      return 1;
  }
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`tsxen: ${err instanceof Error ? err.message : String(err)}\n`); process.exitCode = 1; },
);
