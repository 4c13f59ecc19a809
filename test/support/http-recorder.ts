import http, { type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The body parsed as JSON, or undefined. */
  json: unknown;
  /** Date.now() when the whole request had arrived. */
  at: number;
  /** The status answered; 0 while there is no answer (a handler that hangs). */
  status: number;
}

/** Answers one request; `index` counts every request this recorder has received. */
export type RecordingHandler = (request: RecordedRequest, response: ServerResponse, index: number) => void | Promise<void>;

export interface HttpRecorder {
  url: string;
  port: number;
  /** Every request, in the order they arrived. */
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * An HTTP server on 127.0.0.1 (an ephemeral port unless one is given) that records every request
 * and lets `handler` answer it. A handler that throws answers 599. Closing drops every connection,
 * including requests still waiting for an answer.
 */
export async function startHttpRecorder(handler: RecordingHandler, port = 0): Promise<HttpRecorder> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown;
      try {
        json = body === '' ? undefined : JSON.parse(body);
      } catch {
        json = undefined;
      }
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body,
        json,
        at: Date.now(),
        status: 0,
      };
      requests.push(recorded);
      res.once('finish', () => (recorded.status = res.statusCode));
      const answered = () => {
        if (res.headersSent) recorded.status = res.statusCode;
      };
      try {
        Promise.resolve(handler(recorded, res, requests.length - 1))
          .then(answered)
          .catch((err: unknown) => {
            res.statusCode = 599;
            res.end(String(err));
          });
      } catch (err) {
        res.statusCode = 599;
        res.end(String(err));
      }
      answered();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${address}`,
    port: address,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
