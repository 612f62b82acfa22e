import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './processes.js';

/**
 * The bench runs the built server (`dist/`), as `npm start` does, so a run first makes sure
 * dist/ is built from the current src/. And a result records which commit it measured.
 */

function newestMtime(dir: string): number {
  return Math.max(
    0,
    ...readdirSync(dir, { withFileTypes: true, recursive: true })
      .filter((e) => e.isFile() && e.name.endsWith('.ts'))
      .map((e) => statSync(join(e.parentPath, e.name)).mtimeMs),
  );
}

/** Runs `npm run build` when dist/ is missing or older than any file in src/, or when `force` says so. */
export function buildIfStale(force: boolean, log: (message: string) => void): void {
  let built = 0;
  try {
    built = statSync(join(ROOT, 'dist/server.js')).mtimeMs;
  } catch {}
  if (!force && built > newestMtime(join(ROOT, 'src'))) {
    log('dist/ is up to date with src/');
    return;
  }
  log('npm run build');
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new Error('npm run build failed');
}

function git(...argv: string[]): string {
  return spawnSync('git', argv, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
}

/** The commit measured, and whether the working tree differed from it. */
export function gitState(): { commit: string; dirty: boolean } {
  return { commit: git('rev-parse', 'HEAD'), dirty: git('status', '--porcelain') !== '' };
}
