'use strict';
// libuvpool.js: what blocking system calls do to Node (claim C09), run by
// rtlab claims as `node -e <this file> FIFO BLOCKED HOLD_MS`.
//
// Node runs file system calls (and dns.lookup, some crypto) on libuv's pool
// of worker threads, UV_THREADPOOL_SIZE of them (4 by default), started
// together at the first such call; JavaScript keeps its one thread. An
// fs.open of a FIFO that has no writer blocks its pool thread in open(2)
// until a writer comes. With BLOCKED of them pending, this script times
// one more pool task (an fs.stat) and a 10 ms timer on the main thread,
// counts the process's threads (/proc/self/status) before the pool
// existed, once it did and while the calls are blocked, then after HOLD_MS
// opens the FIFO for writing, which lets every blocked open return. It
// prints one JSON line.

const fs = require('node:fs');

const [fifo, blockedArg, holdArg] = process.argv.slice(1);
const blocked = Number(blockedArg);
const holdMs = Number(holdArg);

function threads() {
  return Number(/^Threads:\s+(\d+)/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))[1]);
}

function msSince(t0) {
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const out = {
  PoolSize: Number(process.env.UV_THREADPOOL_SIZE || 4),
  Blocked: blocked,
  HoldMs: holdMs,
  ThreadsBefore: threads(),
};
const fds = [];
let writer = -1;
let released = false;
let pending = 3; // the stat, the timer, the release

function finish() {
  if (pending > 0 || fds.length < blocked) return;
  if (writer >= 0) fs.closeSync(writer);
  for (const fd of fds) fs.closeSync(fd);
  process.stdout.write(JSON.stringify(out) + '\n');
}

const t0 = process.hrtime.bigint();
fs.stat('/', (err) => {
  if (err) throw err;
  out.StatIdleMs = msSince(t0);
  out.ThreadsPool = threads();
  for (let i = 0; i < blocked; i++) {
    fs.open(fifo, 'r', (err, fd) => {
      if (err) throw err;
      fds.push(fd);
      finish();
    });
  }
  // Give the pool's threads time to pick the opens up.
  setTimeout(() => {
    out.ThreadsBlocked = threads();
    const s0 = process.hrtime.bigint();
    fs.stat('/', (err) => {
      if (err) throw err;
      out.StatBlockedMs = msSince(s0);
      out.StatBeforeRelease = !released;
      pending--;
      finish();
    });
    const t1 = process.hrtime.bigint();
    setTimeout(() => {
      out.TimerLateMs = msSince(t1) - 10;
      pending--;
      finish();
    }, 10);
    setTimeout(() => {
      // A writer lets every pending open of the FIFO return; it stays open
      // until they all have, so that none blocks again.
      if (blocked > 0) writer = fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK);
      released = true;
      pending--;
      finish();
    }, holdMs);
  }, 50);
});
