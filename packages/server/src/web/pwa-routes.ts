import type { FastifyInstance } from 'fastify';
import type { AppContext } from '../app.js';
import { notFound } from '../http/errors.js';
import { publicOrganisation } from '../tenants/tenants.js';
import { approverManifest, iconPng } from './pwa.js';

/** Manifest, icons and service worker of the installable approver; the worker's scope is /approve and everything under it. */
export function pwaRoutes(r: FastifyInstance, ctx: AppContext, buildId: string, serviceWorker: Buffer | null): void {
  const hidden = { schema: { hide: true } };
  const icons = new Map<number, Buffer>();
  r.get('/approve/manifest.webmanifest', hidden, async (_request, reply) => {
    const organisation = await publicOrganisation(ctx.db);
    return reply
      .header('content-type', 'application/manifest+json')
      .header('cache-control', 'no-cache')
      .send(JSON.stringify(approverManifest(organisation.name)));
  });
  for (const size of [192, 512]) {
    r.get(`/approve/icon-${size}.png`, hidden, async (_request, reply) => {
      let icon = icons.get(size);
      if (!icon) icons.set(size, (icon = iconPng(size)));
      return reply.header('content-type', 'image/png').header('cache-control', 'public, max-age=86400').send(icon);
    });
  }
  r.get('/approve/sw.js', hidden, async (_request, reply) => {
    if (!serviceWorker) throw notFound('service worker');
    // The build id lets the worker cache this build's assets and drop older ones.
    return reply
      .header('content-type', 'text/javascript; charset=utf-8')
      .header('cache-control', 'no-cache')
      .header('service-worker-allowed', '/approve')
      .send(`self.SIGIL_BUILD=${JSON.stringify(buildId)};\n${serviceWorker.toString('utf8')}`);
  });
}
