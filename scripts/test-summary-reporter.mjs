// A reporter for Node's test runner that writes one JSON object: the run's totals and every test
// or suite that was skipped or left as todo (the runner's own "skipped" total leaves out suites).
export default async function* testSummary(source) {
  const totals = {};
  const skipped = [];
  for await (const { type, data } of source) {
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
  yield `${JSON.stringify({ totals, skipped })}\n`;
}
