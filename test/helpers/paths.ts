import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const FIXTURES = path.join(PROJECT_ROOT, 'fixtures');
export const BIN = path.join(PROJECT_ROOT, 'bin', 'docker-prep.js');
