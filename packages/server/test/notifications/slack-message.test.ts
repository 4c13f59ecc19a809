// What a request says reaches Slack as plain text: a description cannot make a link, mention
// @channel, or bold or strike words of its own in the message or its notification line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slackMessage } from '../../src/notifications/channels/slack.js';

const HOSTILE = 'Rotate cert <https://evil.example|Open the request> <!channel> *APPROVED BY SECURITY* ~delete prod db~ & `x`';

test('a description with mrkdwn, links and mentions is sent as plain text', () => {
  const message = slackMessage({
    title: 'Acme Corp is requesting approval',
    body: HOSTILE,
    url: 'https://sigil.example/approve/requests/1',
    requestId: '1',
    kind: 'created',
  });
  assert.equal(message.mrkdwn, false, 'the notification line is not mrkdwn');
  assert.equal(
    message.text,
    'Acme Corp is requesting approval: Rotate cert &lt;https://evil.example|Open the request&gt; &lt;!channel&gt; *APPROVED BY SECURITY* ~delete prod db~ &amp; `x`',
  );
  const section = message.blocks[1] as { text: { type: string; text: string } };
  assert.deepEqual(section.text, { type: 'plain_text', text: HOSTILE, emoji: false });
  assert.ok(!JSON.stringify(message.blocks).includes('"mrkdwn"'), 'no block is mrkdwn');
});
