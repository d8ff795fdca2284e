import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { config } from 'dotenv';

/** Loads `.env` from the working directory when present; real environment variables win. */
export function loadDotEnv(): void {
  const path = resolve(process.cwd(), '.env');
  if (existsSync(path)) config({ path, quiet: true });
}
