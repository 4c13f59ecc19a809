// The notification log, which integrators read, gives a relay's refusal by its SMTP codes only:
// the relay's own words can name its hosts and tell which mailboxes exist.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SmtpSink } from '../../../../test/support/smtp.js';
import { EmailChannel } from '../../src/notifications/channels/email.js';

let sink: SmtpSink;
let channel: EmailChannel;
const content = {
  title: 'Acme Corp is requesting approval',
  body: 'Deploy',
  url: 'https://sigil.example/approve/requests/1',
  requestId: '1',
  kind: 'created' as const,
};

before(async () => {
  sink = await SmtpSink.start();
  channel = new EmailChannel(sink.url, 'Sigil <sigil@example.test>', 5_000);
});
after(async () => {
  channel?.close();
  await sink?.close();
});

test("a relay's refusal is logged by its codes, without its words", async () => {
  sink.refuse = { code: 550, message: '5.1.1 <ceo@corp.internal>: Recipient address rejected: unknown user (relay 10.0.0.25)' };
  const refused = await channel.send('ceo@corp.internal', content, 'n1');
  assert.deepEqual(refused, { outcome: 'failed', error: 'the mail relay refused the message (SMTP 550 5.1.1)' });
  sink.refuse = { code: 451, message: '4.3.0 greylisted by mx-internal-7.corp.internal' };
  const deferred = await channel.send('ceo@corp.internal', content, 'n2');
  assert.deepEqual(deferred, { outcome: 'retry', error: 'the mail relay deferred the message (SMTP 451 4.3.0)' });
  sink.refuse = null;
  assert.deepEqual(await channel.send('ceo@corp.internal', content, 'n3'), { outcome: 'sent' });
});
