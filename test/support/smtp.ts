/** A real SMTP server on 127.0.0.1 (smtp-server) that keeps every message it accepts. */
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface Mail {
  from: string;
  to: string[];
  raw: string;
  headers: Map<string, string>;
  /** The text/plain and text/html parts, decoded. */
  text: string;
  html: string;
}

export class SmtpSink {
  readonly mails: Mail[] = [];
  /** Answer every message with this SMTP error until cleared. */
  refuse: { code: number; message: string } | null = null;

  private constructor(
    private server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(port = 0): Promise<SmtpSink> {
    const sink: SmtpSink = new SmtpSink(null as never, 0);
    const server = sink.make();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    (sink as { port: number }).port = (server.server.address() as AddressInfo).port;
    sink.server = server;
    return sink;
  }

  get url(): string {
    return `smtp://127.0.0.1:${this.port}`;
  }

  async pause(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async resume(): Promise<void> {
    const server = this.make();
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', resolve));
    this.server = server;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private make(): SMTPServer {
    return new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (this.refuse) {
            const err = new Error(this.refuse.message) as Error & { responseCode: number };
            err.responseCode = this.refuse.code;
            return callback(err);
          }
          const raw = Buffer.concat(chunks).toString('utf8');
          this.mails.push(
            parseMail(
              raw,
              session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              session.envelope.rcptTo.map((r) => r.address),
            ),
          );
          callback();
        });
      },
    });
  }
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function decodePart(headers: string, body: string): string {
  if (/content-transfer-encoding:\s*quoted-printable/i.test(headers)) return decodeQuotedPrintable(body);
  if (/content-transfer-encoding:\s*base64/i.test(headers)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

/** Enough MIME for nodemailer's multipart/alternative: top-level headers and the text and HTML parts. */
function parseMail(raw: string, from: string, to: string[]): Mail {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const headers = new Map<string, string>();
  for (const line of head.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) headers.set(line.slice(0, i).toLowerCase(), line.slice(i + 1).trim());
  }
  const boundary = /boundary="?([^";]+)"?/.exec(headers.get('content-type') ?? '')?.[1];
  let text = '';
  let html = '';
  if (boundary) {
    for (const part of raw.slice(split + 4).split(`--${boundary}`)) {
      const at = part.indexOf('\r\n\r\n');
      if (at < 0) continue;
      const partHeaders = part.slice(0, at);
      const body = decodePart(partHeaders, part.slice(at + 4).replace(/\r\n$/, ''));
      if (/content-type:\s*text\/plain/i.test(partHeaders)) text = body;
      if (/content-type:\s*text\/html/i.test(partHeaders)) html = body;
    }
  }
  return { from, to, raw, headers, text, html };
}
