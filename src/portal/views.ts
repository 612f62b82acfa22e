import { fileURLToPath } from 'node:url';

/**
 * The templates and the stylesheet stay in src/portal (the build copies no files): from
 * src/portal/ under tsx and from dist/portal/ after a build, this is the same folder.
 */
const ROOT = new URL('../../src/portal/', import.meta.url);
export const VIEWS = fileURLToPath(new URL('views/', ROOT));
export const STYLESHEET = fileURLToPath(new URL('portal.css', ROOT));
