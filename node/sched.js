'use strict';
// sched: Node's event loop and worker_threads beside the sched package of
// the Go suite (C02, C08, C10, C46).
//
// BenchmarkSchedParallel/model={eventloop,workers}/workers={1,2,4} hashes
// the same bytes as Go's sched.Parallel (64-bit FNV-1a over a 16 KiB
// buffer, seeded per chunk; the same sum) split across that many macrotasks
// (setImmediate) on the main thread, or that many worker_threads. speedup
// is the time of the whole work as one main-thread task over the time of
// this split, the one-task run made beside each op (outside the timer).
// Go's model=eventloop (its sched.Loop model) has this row's name; Go's
// model=goroutines stands where Node has model=workers.
//
// BenchmarkSchedPreempt/model=node: a 1 ms setTimeout re-armed on every
// firing records how late it fires while one macrotask runs a call-free
// loop for 200 ms (50 ms with -short), in this process: p50-delay-ns,
// max-delay-ns and loop-ns as Go's SchedPreempt; eld-p99-ns and eld-max-ns
// are the same loop seen by perf_hooks.monitorEventLoopDelay (1 ms
// resolution). Nothing interrupts a JavaScript task: the timer due during
// the loop fires after all of it.
//
// BenchmarkSchedFalseSharing/model=node/layout={packed,pad64,pad128}: two
// worker_threads each Atomics.add 1n to their own 64-bit slot of one
// SharedArrayBuffer (a BigInt64Array, Go's atomic.Uint64), 1<<20 times each
// (1<<16 with -short); ns/op is per increment, as Go's model=go rows. The
// slots are 8 (packed), 64 or 128 bytes apart. JavaScript cannot see an
// address, but a small buffer's memory is malloc's, 16-byte aligned on
// 64-bit Linux, so packed slots share a 64-byte line and the others never
// do (pad128: nor one 128-byte pair), wherever it starts, as in Go. Both
// workers meet at an Atomics barrier before counting (spinUntil: the first
// may sleep there 50 µs at a time, so their starts can be that far apart);
// the time is from the first one's start to the last one's end, and the
// counters must read what was asked.
//
// eventOrder (node node/sched.js order) returns the order in which
// process.nextTick, Promise, setTimeout(0) and setImmediate callbacks run,
// queued from the main script and from an I/O callback. Call it from a
// task, not from a microtask: queued from inside a promise callback, the
// promise callback runs before the nextTick one, since Node drains the
// nextTick queue only between microtask checkpoints.

const { parentPort } = require('node:worker_threads');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { quantile, sumRuns } = require('./harness.js');
const { startWorkers, request, spinUntil } = require('./channels.js');

const chunkSize = 16 << 10;

// fnvBuffer is the 16 KiB buffer Go's Parallel hashes: byte(i*131 + i>>8).
function fnvBuffer() {
  const buf = new Uint8Array(chunkSize);
  for (let i = 0; i < chunkSize; i++) buf[i] = (i * 131 + (i >> 8)) & 0xff;
  return buf;
}

// fnv1a is 64-bit FNV-1a of seed's eight little-endian bytes, then buf.
// The 64-bit state is two 32-bit halves: prime = 2^40 + 0x1b3, so h*prime
// is h*0x1b3 plus h shifted left by 40 (the low word shifted into the high
// one by 8).
function fnv1a(buf, seed) {
  let lo = 0x84222325;
  let hi = 0xcbf29ce4;
  for (let i = 0; i < 8 + buf.length; i++) {
    // seed < 2^53: its bytes above 2^32 come from division.
    const byte = i >= 8 ? buf[i - 8] : i < 4 ? (seed >>> (8 * i)) & 0xff : Math.floor(seed / 2 ** (8 * i)) & 0xff;
    lo = (lo ^ byte) >>> 0;
    const a = lo * 0x1b3;
    const nlo = a >>> 0;
    hi = (Math.imul(hi, 0x1b3) + (a - nlo) / 4294967296 + (lo << 8)) >>> 0;
    lo = nlo;
  }
  return (BigInt(hi) << 32n) | BigInt(lo);
}

// hashChunks hashes chunks [from, to) and returns the sum mod 2^64.
function hashChunks(buf, from, to) {
  let s = 0n;
  for (let c = from; c < to; c++) s += fnv1a(buf, c);
  return BigInt.asUintN(64, s);
}

// shares splits chunks into parts as Go's Parallel does.
function shares(chunks, parts) {
  const out = [];
  for (let w = 0; w < parts; w++) out.push([Math.floor((w * chunks) / parts), Math.floor(((w + 1) * chunks) / parts)]);
  return out;
}

// parallelEventLoop runs the parts as setImmediate macrotasks on this
// thread and resolves to the sum when the last has run.
function parallelEventLoop(buf, chunks, parts) {
  return new Promise((resolve) => {
    let sum = 0n;
    let left = parts;
    for (const [from, to] of shares(chunks, parts)) {
      setImmediate(() => {
        sum += hashChunks(buf, from, to);
        if (--left === 0) resolve(BigInt.asUintN(64, sum));
      });
    }
  });
}

function hashWorker() {
  const buf = fnvBuffer();
  parentPort.on('message', ({ from, to }) => parentPort.postMessage(hashChunks(buf, from, to)));
}

// Pool is n hashing workers.
class Pool {
  static async start(n) {
    const p = new Pool();
    p.workers = await startWorkers(Array.from({ length: n }, () => ({ topic: 'sched', role: 'hash' })));
    return p;
  }

  async hash(chunks) {
    const sums = await request(
      this.workers,
      shares(chunks, this.workers.length).map(([from, to]) => ({ from, to })),
    );
    return BigInt.asUintN(64, sums.reduce((a, b) => a + b, 0n));
  }

  close() {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// falseSharingGap is the bytes between the two counters of each layout,
// as in Go's sched.Layout.
const falseSharingGap = { packed: 8, pad64: 64, pad128: 128 };

// countWorker adds 1n to its slot n times once both workers have arrived
// at the barrier (control[0] reaching 2), and replies with its start and
// end times.
function countWorker({ counters, control, slot }) {
  const c = new BigInt64Array(counters);
  const arrived = new Int32Array(control);
  parentPort.on('message', ({ n }) => {
    Atomics.add(arrived, 0, 1);
    spinUntil(arrived, 0, 2);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) Atomics.add(c, slot, 1n);
    parentPort.postMessage({ t0, t1: process.hrtime.bigint() });
  });
}

// FalseSharing is two counting workers and their counters, laid out as
// layout.
class FalseSharing {
  static async start(layout) {
    const gap = falseSharingGap[layout];
    if (gap === undefined) throw new Error(`sched: false-sharing layout ${layout} must be packed, pad64 or pad128`);
    const f = new FalseSharing();
    f.counters = new SharedArrayBuffer(gap + 8);
    f.control = new SharedArrayBuffer(4);
    f.slots = [0, gap / 8];
    f.workers = await startWorkers(f.slots.map((slot) => ({ topic: 'sched', role: 'count', counters: f.counters, control: f.control, slot })));
    return f;
  }

  // run has each worker add n to its counter and returns {increments, ns}:
  // ns from the first worker's start to the last one's end.
  async run(n) {
    if (!Number.isSafeInteger(n) || n < 1) throw new Error(`sched: false-sharing increments ${n} must be a positive integer`);
    const c = new BigInt64Array(this.counters);
    for (const s of this.slots) Atomics.store(c, s, 0n);
    Atomics.store(new Int32Array(this.control), 0, 0);
    const times = await request(this.workers, [{ n }, { n }]);
    const [a, b] = this.slots.map((s) => Atomics.load(c, s));
    if (a !== BigInt(n) || b !== BigInt(n)) throw new Error(`sched: counters ${a} and ${b}, want ${n} each`);
    const t0 = times[0].t0 < times[1].t0 ? times[0].t0 : times[1].t0;
    const t1 = times[0].t1 > times[1].t1 ? times[0].t1 : times[1].t1;
    return { increments: n, ns: Number(t1 - t0) };
  }

  close() {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// spin runs n rounds of 32-bit xorshift: no calls, no memory traffic.
function spin(n, x) {
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return x;
}

// calibrate returns the spin rounds that take about ns nanoseconds.
function calibrate(ns) {
  let n = 1 << 16;
  for (;;) {
    const t0 = process.hrtime.bigint();
    spin(n, 1);
    const d = Number(process.hrtime.bigint() - t0);
    if (d >= 5e6) return Math.max(1, Math.round((n * ns) / d));
    n *= 2;
  }
}

let sink = 0;

// preempt measures timer lateness behind one loop of loopNs on this
// thread's event loop: {loopNs, ticks, p50, max, eldP99, eldMax}.
//
// The loop spins in chunks of about a hundredth of loopNs until the clock
// says loopNs has passed, so it lasts loopNs even where the calibration was
// slowed by a busy machine (a count-bounded loop could then end before the
// first timer was due). JavaScript has no preemption to avoid, so the clock
// reads between chunks change nothing that is measured.
function preempt(loopNs, tickMs = 1) {
  const n = calibrate(loopNs / 100);
  const warmup = 5;
  return new Promise((resolve) => {
    const ticks = [];
    let ts = 0n;
    let te = 0n;
    const h = monitorEventLoopDelay({ resolution: 1 });
    h.enable();
    let after = 0;
    const arm = () => {
      const due = process.hrtime.bigint() + BigInt(tickMs * 1e6);
      setTimeout(() => {
        const woke = process.hrtime.bigint();
        ticks.push([due, woke]);
        // Five more ticks after the loop let the histogram take its sample.
        if (te > 0n && woke > te && ++after === 5) {
          h.disable();
          resolve(summary(ticks, ts, te, h));
          return;
        }
        if (ticks.length === warmup) {
          setImmediate(() => {
            ts = process.hrtime.bigint();
            const end = ts + BigInt(Math.round(loopNs));
            let x = Number(ts & 0xffffn) | 1;
            do x = spin(n, x); while (process.hrtime.bigint() < end);
            sink = x;
            te = process.hrtime.bigint();
          });
        }
        arm();
      }, tickMs);
    };
    arm();
  });
}

// summary keeps the wake-ups that overlap the loop [ts, te], as Go's
// tickRecorder.summary: due before it ended and woken after it began.
function summary(ticks, ts, te, h) {
  const delays = [];
  for (const [due, woke] of ticks) {
    if (woke < ts || due > te) continue;
    delays.push(Number(woke - due));
  }
  delays.sort((a, b) => a - b);
  return {
    loopNs: Number(te - ts),
    ticks: delays.length,
    p50: quantile(delays, 0.5),
    max: quantile(delays, 1),
    eldP99: h.percentile(99),
    eldMax: h.max,
  };
}

// eventOrder resolves to the order of callbacks queued from the main
// script ("main") and from inside an I/O callback ("io").
function eventOrder() {
  const run = (order, done) => {
    setTimeout(() => order.push('setTimeout'), 0);
    setImmediate(() => order.push('setImmediate'));
    Promise.resolve().then(() => order.push('promise'));
    process.nextTick(() => order.push('nextTick'));
    order.push('sync');
    setTimeout(done, 20);
  };
  return new Promise((resolve) => {
    const main = [];
    run(main, () => {
      require('node:fs').stat(__filename, () => {
        const io = [];
        run(io, () => resolve({ main, io }));
      });
    });
  });
}

function benchmarks({ short }) {
  const out = [];
  const bytes = short ? 8 << 20 : 64 << 20;
  const chunks = bytes / chunkSize;
  for (const model of ['eventloop', 'workers']) {
    for (const workers of [1, 2, 4]) {
      out.push({
        name: `BenchmarkSchedParallel/model=${model}/workers=${workers}`,
        setup: async () => {
          const st = { buf: fnvBuffer(), close: () => {} };
          if (model === 'workers') {
            st.pool = await Pool.start(workers);
            st.close = () => st.pool.close();
          }
          return st;
        },
        fn: async (b, st) => {
          b.setBytes(bytes);
          let base = 0;
          let split = 0;
          for (let i = 0; i < b.n; i++) {
            b.stopTimer();
            const t0 = process.hrtime.bigint();
            const want = await parallelEventLoop(st.buf, chunks, 1);
            const t1 = process.hrtime.bigint();
            b.startTimer();
            const got = model === 'workers' ? await st.pool.hash(chunks) : await parallelEventLoop(st.buf, chunks, workers);
            split += Number(process.hrtime.bigint() - t1);
            base += Number(t1 - t0);
            if (got !== want) throw new Error(`sched: model=${model} workers=${workers} summed ${got}, one task ${want}`);
          }
          b.reportMetric(base / split, 'speedup');
        },
      });
    }
  }
  const loopNs = short ? 50e6 : 200e6;
  out.push({
    name: 'BenchmarkSchedPreempt/model=node',
    fn: async (b) => {
      const sum = await sumRuns(b.n, () => preempt(loopNs));
      b.reportMetric(0, 'ns/op');
      b.reportMetric(sum.p50 / b.n, 'p50-delay-ns');
      b.reportMetric(sum.max / b.n, 'max-delay-ns');
      b.reportMetric(sum.loopNs / b.n, 'loop-ns');
      b.reportMetric(sum.eldP99 / b.n, 'eld-p99-ns');
      b.reportMetric(sum.eldMax / b.n, 'eld-max-ns');
    },
  });
  const increments = short ? 1 << 16 : 1 << 20;
  for (const layout of Object.keys(falseSharingGap)) {
    out.push({
      name: `BenchmarkSchedFalseSharing/model=node/layout=${layout}`,
      // 1<<18 increments in setup let V8 optimise the workers' loops:
      // -benchtime 1x -short would otherwise time mostly unoptimised code
      // (about 240 ns per increment on its first 1<<16, 25 ns from the
      // fourth on, on a 2-vCPU EPYC).
      setup: async () => {
        const f = await FalseSharing.start(layout);
        try {
          await f.run(1 << 18);
        } catch (e) {
          await f.close();
          throw e;
        }
        return f;
      },
      fn: async (b, f) => {
        const sum = await sumRuns(b.n, () => f.run(increments));
        b.reportMetric(sum.ns / sum.increments, 'ns/op');
      },
    });
  }
  return out;
}

if (require.main === module && process.argv[2] === 'order') {
  eventOrder().then((o) => process.stdout.write(JSON.stringify(o) + '\n'));
}

module.exports = { benchmarks, workers: { hash: hashWorker, count: countWorker }, fnv1a, fnvBuffer, hashChunks, parallelEventLoop, Pool, FalseSharing, preempt, eventOrder, spin };
