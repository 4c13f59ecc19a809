// The README's "Command line" block names every command `sigil` and `sigil-device` have, and no
// command they lack: a command added, renamed or removed fails here until the README says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DEVICE_CLI, runCli, SIGIL_CLI } from '../support/processes.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

/** The command names under "Commands:" in a commander help text, `help` aside. */
async function subcommands(cli: string, args: string[]): Promise<string[]> {
  const res = await runCli(cli, [...args, '--help']);
  assert.equal(res.code, 0, res.stderr);
  const section = res.stdout.slice(res.stdout.indexOf('Commands:'));
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((name) => name !== 'help');
}

/** "sigil team add", "sigil-device listen", …: what each line of the block names, with `a | b` alternatives. */
function documented(): Set<string> {
  const start = README.indexOf('### Command line');
  const block = README.slice(README.indexOf('```', start) + 3, README.indexOf('```', README.indexOf('```', start) + 3));
  const named = new Set<string>();
  for (const raw of block.split('\n')) {
    const line = raw.split('#')[0]!.trim();
    const match = /^(sigil|sigil-device) (.+)$/.exec(line);
    if (!match) continue;
    const [, bin, rest] = match;
    const group = bin === 'sigil' && !rest!.startsWith('serve') ? rest!.split(' ')[0] : undefined;
    const alternatives = (group ? rest!.slice(group.length + 1) : rest!).split(' | ');
    for (const alternative of alternatives) {
      const word = alternative.trim().split(' ')[0]!;
      if (/^[a-z][a-z-]*$/.test(word)) named.add([bin, group, word].filter(Boolean).join(' '));
    }
  }
  return named;
}

test("the README's command line names every sigil and sigil-device command, and no other", async () => {
  const actual: string[] = [];
  for (const group of await subcommands(SIGIL_CLI, [])) {
    if (group === 'serve') actual.push('sigil serve');
    else for (const command of await subcommands(SIGIL_CLI, [group])) actual.push(`sigil ${group} ${command}`);
  }
  for (const command of await subcommands(DEVICE_CLI, [])) actual.push(`sigil-device ${command}`);
  assert.ok(actual.length > 20, 'the CLIs list their commands');
  assert.deepEqual([...documented()].sort(), actual.sort());
});
