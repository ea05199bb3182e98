// Copies a SQLite database with the online backup API on a worker thread, so a big copy never blocks the event loop.
import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';

// Plain CommonJS source: workers do not inherit tsx's loader hooks when the CLI registers them by API.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
(async () => {
  let db;
  try {
    db = new Database(workerData.src, { readonly: true, fileMustExist: true });
    // All remaining pages in one step after the first: a write from another connection between
    // steps restarts the copy, and a single step cannot be interrupted.
    await db.backup(workerData.dest, { progress: () => 1 << 30 });
    parentPort.postMessage({ ok: true });
  } catch (err) {
    parentPort.postMessage({ ok: false, message: String(err && err.message), code: err && err.code });
  } finally {
    if (db) db.close();
  }
})();
`;

const driver = createRequire(import.meta.url).resolve('better-sqlite3');

/** Below this size the copy is quicker than starting a worker, and short enough to run in place. */
const IN_PLACE_MAX_BYTES = 8 * 1024 * 1024;

async function backupInPlace(src: string, dest: string): Promise<void> {
  const db = new Database(src, { readonly: true, fileMustExist: true });
  try {
    await db.backup(dest, { progress: () => 1 << 30 });
  } finally {
    db.close();
  }
}

export async function backupDatabase(src: string, dest: string): Promise<void> {
  if ((await stat(src)).size <= IN_PLACE_MAX_BYTES) return backupInPlace(src, dest);
  return backupInWorker(src, dest);
}

function backupInWorker(src: string, dest: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, src, dest } });
    let settled = false;
    worker.once('message', (msg: { ok: boolean; message?: string; code?: string }) => {
      settled = true;
      if (msg.ok) resolve();
      else reject(Object.assign(new Error(`SQLite backup of ${src} failed: ${msg.message ?? 'unknown'}`), { code: msg.code }));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`SQLite backup worker exited with ${code}`));
    });
  });
}
