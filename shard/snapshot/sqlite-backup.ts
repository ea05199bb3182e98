// SQLite work of snapshots (online backup copy, integrity_check) on a worker thread for big files, so it never blocks the event loop.
import { createRequire } from 'node:module';
import { stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';

type Job = { op: 'backup'; src: string; dest: string } | { op: 'check'; src: string };

// Plain CommonJS source: workers do not inherit tsx's loader hooks when the CLI registers them by API.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
(async () => {
  let db;
  try {
    db = new Database(workerData.job.src, { readonly: true, fileMustExist: true });
    if (workerData.job.op === 'backup') {
      await db.backup(workerData.job.dest, { progress: () => 1 << 30 });
      parentPort.postMessage({ ok: true });
    } else {
      parentPort.postMessage({ ok: true, result: String(db.pragma('integrity_check', { simple: true })) });
    }
  } catch (err) {
    parentPort.postMessage({ ok: false, message: String(err && err.message), code: err && err.code });
  } finally {
    if (db) db.close();
  }
})();
`;

const driver = createRequire(import.meta.url).resolve('better-sqlite3');

/** Below this size the work is quicker than starting a worker, and short enough to run in place. */
const IN_PLACE_MAX_BYTES = 8 * 1024 * 1024;

async function inPlace(job: Job): Promise<string | undefined> {
  const db = new Database(job.src, { readonly: true, fileMustExist: true });
  try {
    if (job.op === 'check') return String(db.pragma('integrity_check', { simple: true }));
    // All remaining pages in one step after the first: a write from another connection between
    // steps restarts the copy, and a single step cannot be interrupted.
    await db.backup(job.dest, { progress: () => 1 << 30 });
    return undefined;
  } finally {
    db.close();
  }
}

function inWorker(job: Job): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, job } });
    let settled = false;
    worker.once('message', (msg: { ok: boolean; result?: string; message?: string; code?: string }) => {
      settled = true;
      if (msg.ok) resolve(msg.result);
      else reject(Object.assign(new Error(`SQLite ${job.op} of ${job.src} failed: ${msg.message ?? 'unknown'}`), { code: msg.code }));
    });
    worker.once('error', (err) => {
      settled = true;
      reject(err);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`SQLite worker exited with ${code}`));
    });
  });
}

async function run(job: Job): Promise<string | undefined> {
  return (await stat(job.src)).size <= IN_PLACE_MAX_BYTES ? inPlace(job) : inWorker(job);
}

/** A consistent copy of a live database (online backup API), even while other connections write. */
export async function backupDatabase(src: string, dest: string): Promise<void> {
  await run({ op: 'backup', src, dest });
}

/** `PRAGMA integrity_check` of a database file: 'ok', or SQLite's report. Throws if it cannot be opened. */
export async function integrityCheck(src: string): Promise<string> {
  return (await run({ op: 'check', src })) ?? '';
}
