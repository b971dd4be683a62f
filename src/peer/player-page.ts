/**
 * The player page's files, served by the playback server itself: the page
 * (src/web/player/index.html, with the program's name and the stream URL
 * filled in as escaped text), its script and style, and mpegts.js from
 * node_modules. Nothing comes from elsewhere, and the Content-Security-Policy
 * says so to the browser.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

/** Only our own scripts, styles and connections; media from our stream through MSE (blob:). */
export const PLAYER_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "media-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** On every answer of the playback server: no sniffing, no framing, not readable by other sites' pages. */
export const COMMON_HEADERS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Referrer-Policy': 'no-referrer',
};

export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  ...COMMON_HEADERS,
  'Content-Security-Policy': PLAYER_CSP,
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
};

export interface Asset {
  body: Buffer;
  type: string;
}

export interface PlayerAssets {
  /** The page for this program, with the stream URL the player commands name. */
  page(title: string, streamUrl: string): string;
  /** A static file by its path under the page (player.js, player.css, vendor/mpegts.js), or null. */
  file(path: string): Asset | null;
}

const PLAYER_DIR = new URL('../web/player/', import.meta.url);

/** Reads the files once; a missing mpegts.js (not installed) leaves the page with the player commands only. */
export function loadPlayerAssets(): PlayerAssets {
  const template = readFileSync(new URL('index.html', PLAYER_DIR), 'utf8');
  const files = new Map<string, Asset>([
    ['/player.js', { body: readFileSync(new URL('player.js', PLAYER_DIR)), type: 'text/javascript; charset=utf-8' }],
    ['/player.css', { body: readFileSync(new URL('player.css', PLAYER_DIR)), type: 'text/css; charset=utf-8' }],
  ]);
  const mpegts = mpegtsPath();
  if (mpegts) files.set('/vendor/mpegts.js', { body: readFileSync(mpegts), type: 'text/javascript; charset=utf-8' });
  return {
    page: (title, streamUrl) =>
      template.replace(/\{\{(TITLE|STREAM)\}\}/g, (_, key: string) => escapeHtml(key === 'TITLE' ? title : streamUrl)),
    file: (path) => files.get(path) ?? null,
  };
}

function mpegtsPath(): string | null {
  try {
    // The package's main file is its browser build (a UMD script that defines window.mpegts).
    return createRequire(import.meta.url).resolve('mpegts.js');
  } catch {
    return null;
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
