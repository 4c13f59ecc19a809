import { readFileSync } from 'node:fs';
import { THEME_COLOR } from './pwa.js';

/**
 * The browser front ends are static: an HTML shell per app and one script and one stylesheet
 * built from packages/server/web/ (`npm run build` bundles them into dist/public/). No inline
 * script or style, so the Content-Security-Policy can be `default-src 'self'`.
 */
const PUBLIC_DIR = new URL('../../dist/public/', import.meta.url);

export const ASSETS: Readonly<Record<string, string>> = {
  'approve.js': 'text/javascript; charset=utf-8',
  'console.js': 'text/javascript; charset=utf-8',
  'sigil.css': 'text/css; charset=utf-8',
  'sw.js': 'text/javascript; charset=utf-8',
};

/** Reads an asset built into dist/public; null when the front end was not built. */
export function readAsset(name: string): Buffer | null {
  if (!Object.hasOwn(ASSETS, name)) return null;
  try {
    return readFileSync(new URL(name, PUBLIC_DIR));
  } catch {
    return null;
  }
}

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** The approver can be installed (docs/notifications.md): manifest, icon, theme, standalone on iOS. */
const INSTALLABLE = `<link rel="manifest" href="/approve/manifest.webmanifest">
<link rel="apple-touch-icon" href="/approve/icon-192.png">
<meta name="theme-color" content="${THEME_COLOR}">
<meta name="mobile-web-app-capable" content="yes">
<meta name="apple-mobile-web-app-capable" content="yes">
<meta name="apple-mobile-web-app-title" content="Sigil">
`;

function shell(app: 'approve' | 'console', title: string, version: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/web/sigil.css?v=${version}">
<script type="module" src="/web/${app}.js?v=${version}"></script>
${app === 'approve' ? INSTALLABLE : ''}</head>
<body class="app-${app}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="topbar"><div class="topbar-inner"><span class="brand">Sigil</span><span class="topbar-title">${
    app === 'approve' ? 'Approver' : 'Console'
  }</span><nav id="nav" aria-label="Main"></nav></div></header>
<main id="main" tabindex="-1"><p class="loading">Loading…</p><noscript><p>This page needs JavaScript.</p></noscript></main>
<div id="announcer" class="visually-hidden" role="status" aria-live="polite" aria-atomic="true"></div>
</body>
</html>
`;
}

export const approvePage = (version: string) => shell('approve', 'Sigil approver', version);
export const consolePage = (version: string) => shell('console', 'Sigil console', version);
