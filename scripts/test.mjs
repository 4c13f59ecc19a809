// Runs every *.test.ts under packages/, examples/ and test/ with Node's test runner and, beside
// them, the type-check, the Go SDK's tests and the lint, whose output is shown when the Node tests
// end; then reports the slowest files and how many tests ran, passed, failed and were skipped.
// Three files run at once: most wait on servers, browsers or the database, so a third keeps two
// cores busy, and the checks beside them use what is left. Under CI (CI=true or
// SIGIL_REQUIRE_INTEGRATION=1) a skipped test fails the run: nothing may be left out there.
// With file arguments, only those files run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const strict = process.env.CI === 'true' || process.env.SIGIL_REQUIRE_INTEGRATION === '1';

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' || entry.name === 'dist' ? [] : findTests(path);
    return entry.name.endsWith('.test.ts') ? [path] : [];
  });
}

function run(command, args, options, onLine) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', onLine ? 'pipe' : 'inherit', 'inherit'] });
    if (onLine) createInterface({ input: child.stdout }).on('line', onLine);
    child.on('error', (err) => {
      console.error(`${command} could not start: ${err.message}`);
      resolve(1);
    });
    child.on('close', (code) => resolve(code ?? 1));
  });
}

/** A check run beside the Node tests: its output is kept, to be shown after theirs. */
function runQuietly(command, args, options = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = [];
    child.stdout.on('data', (chunk) => output.push(chunk));
    child.stderr.on('data', (chunk) => output.push(chunk));
    child.on('error', (err) => resolve({ status: 1, output: `${command} could not start: ${err.message}\n` }));
    child.on('close', (code) => resolve({ status: code ?? 1, output: Buffer.concat(output).toString() }));
  });
}

/** Node's test runner: the spec reporter on the terminal, and the summary reporter into a file. */
async function runNodeTests(files) {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-test-summary-'));
  const summaryFile = join(dir, 'summary.json');
  try {
    const reporter = fileURLToPath(new URL('test-summary-reporter.mjs', import.meta.url));
    const status = await run(
      process.execPath,
      [
        '--import',
        'tsx',
        '--test',
        '--test-concurrency=3',
        '--test-reporter=spec',
        '--test-reporter-destination=stdout',
        `--test-reporter=${reporter}`,
        `--test-reporter-destination=${summaryFile}`,
        ...files,
      ],
      {},
    );
    const summary = existsSync(summaryFile) ? JSON.parse(readFileSync(summaryFile, 'utf8')) : { totals: {}, skipped: [], fileMs: {} };
    return { status, ...summary };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The Go SDK's tests as JSON events: their output is kept, skips and results are counted. */
async function runGoTests() {
  const counts = { pass: 0, fail: 0, skip: 0 };
  const skipped = [];
  let output = '';
  const status = await run(
    'go',
    ['test', '-count=1', '-json', './...'],
    { cwd: 'sdk-go', env: { ...process.env, GOFLAGS: '-mod=mod', GOPROXY: 'off', GOTOOLCHAIN: 'local' } },
    (line) => {
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        output += `${line}\n`; // build errors are plain text
        return;
      }
      if (event.Output) output += event.Output;
      if (!event.Test || !(event.Action in counts)) return;
      counts[event.Action]++;
      if (event.Action === 'skip') skipped.push({ name: event.Test, file: `sdk-go (${event.Package})` });
    },
  );
  return { status, counts, skipped, output };
}

const only = process.argv.slice(2);
// The whole-system suites under test/ (chaos, fault scenarios, installs) are the slowest: they
// start first, so that the many short package suites run beside them instead of after them.
const systemFirst = (file) => (file.startsWith(`test${sep}`) ? 0 : 1);
const files =
  only.length > 0
    ? only
    : ['packages', 'examples', 'test'].flatMap(findTests).sort((a, b) => systemFirst(a) - systemFirst(b) || a.localeCompare(b));
const whole = only.length === 0;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const beside = whole
  ? {
      typeCheck: runQuietly(process.execPath, [
        fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url)),
        '-p',
        'tsconfig.json',
      ]),
      go: existsSync('sdk-go/go.mod') ? runGoTests() : null,
      lint: runQuietly(npm, ['run', '--silent', 'lint']),
    }
  : null;
const node = await runNodeTests(files);
const t = node.totals;
let status = node.status;
let skipped = node.skipped.map((s) => ({ ...s, file: s.file ? relative(process.cwd(), s.file) : '?' }));
const lines = [
  `Node: ${t.tests ?? '?'} tests in ${t.suites ?? '?'} suites: ${t.pass ?? '?'} passed, ${t.fail ?? '?'} failed, ${t.cancelled ?? '?'} cancelled, ${skipped.length} skipped or todo`,
];

if (beside) {
  const typeCheck = await beside.typeCheck;
  console.log(`\nType-check (tsc -p tsconfig.json): ${typeCheck.status === 0 ? 'clean' : 'FAILED'}\n${typeCheck.output}`);
  status = status || typeCheck.status;
  lines.push(`Type-check: ${typeCheck.status === 0 ? 'clean' : 'failed'}`);
  const go = await beside.go;
  if (go) {
    console.log(`\nGo SDK (go test ./... in sdk-go):\n${go.output}`);
    status = status || go.status;
    skipped = [...skipped, ...go.skipped.map((s) => ({ ...s, kind: 'test', why: 'skip', reason: null }))];
    lines.push(
      `Go: ${go.counts.pass + go.counts.fail + go.counts.skip} tests: ${go.counts.pass} passed, ${go.counts.fail} failed, ${go.counts.skip} skipped`,
    );
  }
  const lint = await beside.lint;
  console.log(`\nLint (npm run lint):\n${lint.output}`);
  status = status || lint.status;
  lines.push(`Lint: ${lint.status === 0 ? 'clean' : 'failed'}`);
}

const slowest = Object.entries(node.fileMs)
  .sort(([, a], [, b]) => b - a)
  .slice(0, 10)
  .map(([file, ms]) => `  ${(ms / 1000).toFixed(1).padStart(6)} s  ${relative(process.cwd(), file)}`);
if (slowest.length > 1) console.log(`\nSlowest files (the time of their tests):\n${slowest.join('\n')}`);

console.log(`\n${lines.join('\n')}`);
for (const s of skipped)
  console.log(`  ${s.why === 'todo' ? 'todo' : 'skipped'} ${s.kind} "${s.name}" (${s.file})${s.reason ? `: ${s.reason}` : ''}`);
if (skipped.length > 0 && strict) {
  console.error(`\n${skipped.length} skipped or todo under CI: every test must run here.`);
  status = status || 1;
}
process.exit(status);
