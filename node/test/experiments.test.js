'use strict';
// What must hold of each experiment on any machine: no timing thresholds,
// only facts the runtime guarantees. Every worker is terminated.
const test = require('node:test');
const assert = require('node:assert');
const { Buffer } = require('node:buffer');
const stack = require('../stack.js');
const channels = require('../channels.js');
const sched = require('../sched.js');
const gc = require('../gc.js');
const alloc = require('../alloc.js');

test('stack: the RangeError is caught and depth is positive; large frames go less deep', async () => {
  const small = await stack.maxDepth('small', 0);
  const large = await stack.maxDepth('large', 0);
  assert.match(small.error, /call stack/);
  assert.ok(small.depth > 0 && large.depth > 0);
  assert.ok(large.depth < small.depth, `large ${large.depth} < small ${small.depth}`);
  const twice = await stack.maxDepth('small', 2 * stack.defaultStackKiB());
  assert.ok(twice.depth > small.depth, `--stack-size twice the default goes deeper: ${twice.depth} > ${small.depth}`);
  assert.ok(stack.defaultStackKiB() > 0);
});

test('litmus: every trial is counted and the atomic runs never show the forbidden outcome', async () => {
  for (const t of ['sb', 'mp']) {
    for (const sync of ['plain', 'atomic']) {
      const l = await channels.Litmus.start(t, sync);
      try {
        const r = await l.run(3000);
        assert.strictEqual(r.trials, 3000, `${t}/${sync}`);
        if (sync === 'atomic') assert.strictEqual(r.forbidden, 0, `${t}/atomic: ${JSON.stringify(r.outcomes)}`);
      } finally {
        await l.close();
      }
    }
  }
  assert.ok(channels.forbidden('sb', 0, 0) && !channels.forbidden('sb', 1, 0));
  assert.ok(channels.forbidden('mp', 0, 2) && !channels.forbidden('mp', 0, 3) && !channels.forbidden('mp', 0, 0));
});

test('ping-pong: both hand-offs complete their round trips', async () => {
  for (const impl of ['atomics', 'postmessage']) {
    const p = await channels.PingPong.start(impl);
    try {
      assert.ok((await p.roundTrips(100)) > 0, impl);
    } finally {
      await p.close();
    }
  }
});

test('contended: Atomics.add loses nothing; plain increments never gain', async () => {
  for (const impl of ['atomic', 'plain']) {
    const c = await channels.Contended.start(impl, 2);
    try {
      const r = await c.run(1 << 14);
      if (impl === 'atomic') assert.strictEqual(r.counted, r.msgs);
      else assert.ok(r.counted > 0 && r.counted <= r.msgs);
    } finally {
      await c.close();
    }
  }
});

test('parallel: FNV-1a matches a BigInt reference, and every split does the same work', async () => {
  const ref = (buf, seed) => {
    let h = 0xcbf29ce484222325n;
    const bytes = [];
    for (let i = 0; i < 8; i++) bytes.push(Number((BigInt(seed) >> BigInt(8 * i)) & 0xffn));
    for (const b of [...bytes, ...buf]) h = BigInt.asUintN(64, (h ^ BigInt(b)) * 0x100000001b3n);
    return h;
  };
  const buf = sched.fnvBuffer();
  for (const seed of [0, 1, 511, 2 ** 40 + 3]) assert.strictEqual(sched.fnv1a(buf, seed), ref(buf, seed));
  const one = await sched.parallelEventLoop(buf, 8, 1);
  assert.strictEqual(await sched.parallelEventLoop(buf, 8, 4), one);
  const pool = await sched.Pool.start(2);
  try {
    assert.strictEqual(await pool.hash(8), one);
  } finally {
    await pool.close();
  }
});

test('false sharing: both counters reach what was asked in every layout; a bad layout or count is refused', async () => {
  for (const layout of ['packed', 'pad64', 'pad128']) {
    const f = await sched.FalseSharing.start(layout);
    try {
      for (const n of [1, 5000]) {
        const r = await f.run(n); // throws unless both counters read n
        assert.strictEqual(r.increments, n, layout);
        // A coarse clock may read no time for one increment.
        assert.ok(Number.isFinite(r.ns) && r.ns >= 0, `${layout}: ${r.ns} ns`);
      }
      await assert.rejects(f.run(0), /increments 0 must be a positive integer/);
    } finally {
      await f.close();
    }
  }
  await assert.rejects(sched.FalseSharing.start('pad32'), /layout pad32 must be packed, pad64 or pad128/);
});

test('preempt: the timer due during the loop fires after the loop ends', async () => {
  const r = await sched.preempt(20e6);
  assert.ok(r.loopNs > 0 && r.ticks >= 1);
  // Due at most a tick after the loop began, woken after it ended.
  assert.ok(r.max >= r.loopNs - 1e6, `max delay ${r.max} covers the loop ${r.loopNs}`);
});

test('event order: nextTick, then promises, then tasks; setImmediate first from I/O', async () => {
  // From the main script of a process: queued from inside a microtask (as
  // this test function runs), the promise callback would run before the
  // nextTick callback, since Node drains nextTicks only between microtasks.
  const { execFileSync } = require('node:child_process');
  const o = JSON.parse(execFileSync(process.execPath, [require.resolve('../sched.js'), 'order'], { encoding: 'utf8' }));
  for (const order of [o.main, o.io]) assert.deepStrictEqual(order.slice(0, 3), ['sync', 'nextTick', 'promise']);
  assert.deepStrictEqual(o.io.slice(3), ['setImmediate', 'setTimeout']);
});

test('gc: churning the heap is observed as collections', async () => {
  const h = new gc.Heap(1 << 20, 0.2, 'high');
  assert.ok(h.heapBytes > 0 && h.ptrsPerKiB() > 0);
  const m = new gc.GCMeter();
  h.churn(64 * h.units);
  const st = await m.stop();
  assert.ok(st.pauses > 0 && st.minor > 0, JSON.stringify(st));
  h.release();
});

test('gc: a heap snapshot is written, measured and removed', () => {
  const dir = require('node:fs').mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'rtlab-test-'));
  try {
    assert.ok(gc.looker('heapsnapshot', dir)() > 0);
    assert.deepStrictEqual(require('node:fs').readdirSync(dir), []);
  } finally {
    require('node:fs').rmSync(dir, { recursive: true, force: true });
  }
});

test('alloc: kept objects grow the heap; the Buffer pool serves only small allocUnsafe', () => {
  assert.ok(alloc.bytesPerObject(alloc.heapKinds.closure, 4096) > 0);
  // The largest of 5: now and then something else the heap held is freed
  // between the two readings (about 1 in 20 here, and the median of 5 fell
  // short once in 200 runs under load): a reading comes out hundreds of
  // bytes short, and none was seen long. A 128-slot array holds 1 KiB of
  // slots, so at least one clean reading of the five is at least that.
  const runs = Array.from({ length: 5 }, () => alloc.bytesPerObject(alloc.makers.scan(1024), 1024)).sort((a, b) => a - b);
  assert.ok(runs[4] >= 1024, `largest of ${runs.join(', ')} B per 128-slot array`);
  const half = Buffer.poolSize >>> 1;
  assert.ok(alloc.pooledShare(() => Buffer.allocUnsafe(64)) > 0);
  assert.strictEqual(alloc.pooledShare(() => Buffer.allocUnsafe(half)), 0);
  assert.strictEqual(alloc.pooledShare(() => Buffer.alloc(64)), 0);
});
