// A reporter for Node's test runner that writes one JSON object: the run's totals, every test
// or suite that was skipped or left as todo (the runner's own "skipped" total leaves out suites),
// and the time each file's top-level tests took, to show where the suite's time goes.
export default async function* testSummary(source) {
  const totals = {};
  const skipped = [];
  const fileMs = {};
  for await (const { type, data } of source) {
    if ((type === 'test:pass' || type === 'test:fail') && data.nesting === 0 && data.file) {
      // A suite declared by a shared helper (describeEachStore) is named by where the helper is.
      const where = /[\\/]test[\\/]support[\\/]/.test(data.file) ? `${data.file}: ${data.name.replace(/ \[\w+\]$/, '')}` : data.file;
      fileMs[where] = (fileMs[where] ?? 0) + (data.details?.duration_ms ?? 0);
    }
    if ((type === 'test:pass' || type === 'test:fail') && (data.skip !== undefined || data.todo !== undefined)) {
      const reason = data.skip ?? data.todo;
      skipped.push({
        name: data.name,
        file: data.file ?? null,
        kind: data.details?.type === 'suite' ? 'suite' : 'test',
        why: data.skip !== undefined ? 'skip' : 'todo',
        reason: typeof reason === 'string' ? reason : null,
      });
    }
    if (type === 'test:diagnostic' && data.nesting === 0) {
      const total = /^(\w+) (\d+(?:\.\d+)?)$/.exec(data.message);
      if (total) totals[total[1]] = Number(total[2]);
    }
  }
  yield `${JSON.stringify({ totals, skipped, fileMs })}\n`;
}
