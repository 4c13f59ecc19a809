import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { evaluate, type EngineEvent, type EnginePolicy } from '../src/mpa/engine.js';

const T0 = 1_000_000;

const scenario = fc
  .record({ groups: fc.integer({ min: 1, max: 6 }), expiresIn: fc.integer({ min: 10, max: 1000 }) })
  .chain(({ groups, expiresIn }) =>
    fc.record({
      policy: fc.integer({ min: 1, max: groups }).map((required): EnginePolicy => ({
        required,
        groupNames: Array.from({ length: groups }, (_, i) => `g${i}`),
        expiresAt: T0 + expiresIn,
      })),
      events: fc
        .array(
          fc.record({
            kind: fc.constantFrom('approve', 'approve', 'approve', 'deny', 'cancel'),
            groupIndex: fc.integer({ min: 0, max: groups - 1 }),
            gap: fc.integer({ min: 0, max: 300 }),
          }),
          { maxLength: 25 },
        )
        .map((raw) => {
          let at = T0;
          return raw.map(({ kind, groupIndex, gap }): EngineEvent => {
            at += gap;
            return kind === 'cancel' ? { kind, at } : { kind: kind as 'approve' | 'deny', groupIndex, at };
          });
        }),
      now: fc.integer({ min: T0, max: T0 + 2000 }),
    }),
  );

describe('quorum engine', () => {
  test('the guide example: Alice and Carol approve 2 of 3 groups', () => {
    const policy = { required: 2, groupNames: ['Engineering Leads', 'Security Team', 'Operations'], expiresAt: T0 + 600_000 };
    const state = evaluate(
      policy,
      [
        { kind: 'approve', groupIndex: 0, at: T0 + 1 },
        { kind: 'approve', groupIndex: 1, at: T0 + 2 },
      ],
      T0 + 3,
    );
    assert.deepEqual(state, { status: 'approved', groupsSatisfied: ['Engineering Leads', 'Security Team'], completedAt: T0 + 2 });
  });

  test('a second approval in the same group adds nothing', () => {
    const policy = { required: 2, groupNames: ['a', 'b'], expiresAt: T0 + 100 };
    const state = evaluate(
      policy,
      [
        { kind: 'approve', groupIndex: 0, at: T0 },
        { kind: 'approve', groupIndex: 0, at: T0 + 1 },
      ],
      T0 + 2,
    );
    assert.deepEqual(state, { status: 'pending', groupsSatisfied: ['a'], completedAt: null });
  });

  test('a denial rejects at once, keeping the groups already satisfied', () => {
    const policy = { required: 2, groupNames: ['a', 'b', 'c'], expiresAt: T0 + 100 };
    const state = evaluate(
      policy,
      [
        { kind: 'approve', groupIndex: 0, at: T0 },
        { kind: 'deny', groupIndex: 2, at: T0 + 5 },
      ],
      T0 + 6,
    );
    assert.deepEqual(state, { status: 'rejected', groupsSatisfied: ['a'], completedAt: T0 + 5 });
  });

  test('expiry without quorum is a timeout at expiresAt', () => {
    const policy = { required: 2, groupNames: ['a', 'b'], expiresAt: T0 + 100 };
    assert.equal(evaluate(policy, [{ kind: 'approve', groupIndex: 1, at: T0 }], T0 + 99).status, 'pending');
    assert.deepEqual(evaluate(policy, [{ kind: 'approve', groupIndex: 1, at: T0 }], T0 + 100), {
      status: 'timeout',
      groupsSatisfied: ['b'],
      completedAt: T0 + 100,
    });
  });

  test('approved exactly when M distinct groups approve before any denial, cancel or expiry', () => {
    fc.assert(
      fc.property(scenario, ({ policy, events, now }) => {
        const state = evaluate(policy, events, now);
        const satisfied = new Set<number>();
        let expected: string = now >= policy.expiresAt ? 'timeout' : 'pending';
        for (const e of events) {
          if (e.at >= policy.expiresAt) break;
          if (e.kind === 'cancel') {
            expected = 'cancelled';
            break;
          }
          if (e.kind === 'deny') {
            expected = 'rejected';
            break;
          }
          satisfied.add(e.groupIndex);
          if (satisfied.size === policy.required) {
            expected = 'approved';
            break;
          }
        }
        assert.equal(state.status, expected);
        assert.equal(new Set(state.groupsSatisfied).size, state.groupsSatisfied.length, 'no group counted twice');
        assert.ok(state.groupsSatisfied.length <= policy.required);
        if (state.status === 'approved') assert.equal(state.groupsSatisfied.length, policy.required);
        else assert.ok(state.groupsSatisfied.length < policy.required);
      }),
      { numRuns: 2000 },
    );
  });

  test('a terminal state never changes: not by later events, nor by the clock moving on', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 0, max: 25 }), fc.integer({ min: 0, max: 5000 }), ({ policy, events, now }, cut, jump) => {
        const prefix = events.slice(0, cut);
        // The prefix is everything recorded by `then`: later events happen after it.
        const next = events[cut]?.at ?? Infinity;
        const then = Math.max(prefix.at(-1)?.at ?? T0, Math.min(now, next - 1));
        const earlier = evaluate(policy, prefix, then);
        const later = evaluate(policy, events, Math.max(now, events.at(-1)?.at ?? 0) + jump);
        if (earlier.status !== 'pending') assert.deepEqual(later, earlier);
      }),
      { numRuns: 2000 },
    );
  });

  test('satisfied groups appear in the order they were first approved', () => {
    fc.assert(
      fc.property(scenario, ({ policy, events, now }) => {
        const state = evaluate(policy, events, now);
        const firstApproval = state.groupsSatisfied.map((name) =>
          events.findIndex((e) => e.kind === 'approve' && policy.groupNames[e.groupIndex] === name),
        );
        assert.deepEqual(
          firstApproval,
          [...firstApproval].sort((a, b) => a - b),
        );
      }),
      { numRuns: 1000 },
    );
  });

  test('duplicates of an event already counted never change the outcome', () => {
    fc.assert(
      fc.property(scenario, fc.nat(), ({ policy, events, now }, pick) => {
        const approvals = events.filter((e) => e.kind === 'approve');
        if (approvals.length === 0) return;
        const dup = approvals[pick % approvals.length]!;
        const index = events.indexOf(dup);
        const withDuplicate = [...events.slice(0, index + 1), dup, ...events.slice(index + 1)];
        assert.deepEqual(evaluate(policy, withDuplicate, now), evaluate(policy, events, now));
      }),
      { numRuns: 1000 },
    );
  });
});
