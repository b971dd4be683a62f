import { readFileSync } from 'node:fs';

/** The package version, read once from package.json at the repository root. */
export const VERSION: string = (() => {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    if (typeof pkg === 'object' && pkg !== null && 'version' in pkg && typeof pkg.version === 'string') return pkg.version;
  } catch {
    // Running from an unusual layout: the version is informative only.
  }
  return '0.0.0';
})();
