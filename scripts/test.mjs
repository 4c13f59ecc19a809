// Runs every *.test.ts under packages/ with Node's test runner, then the Go SDK's tests.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

const only = process.argv.slice(2);
const files = only.length > 0 ? only : ['packages', 'examples', 'test'].flatMap(findTests).sort();
const node = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
let status = node.status ?? 1;

if (only.length === 0 && existsSync('sdk-go/go.mod')) {
  const go = spawnSync('go', ['test', '-count=1', './...'], {
    cwd: 'sdk-go',
    stdio: 'inherit',
    env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local' },
  });
  if (go.error) console.error(`go test could not start: ${go.error.message}`);
  status = status || (go.status ?? 1);
}
process.exit(status);
