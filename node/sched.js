'use strict';
// sched: Node's event loop and worker_threads beside the sched package of
// the Go suite (C02, C08, C10).
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
// eventOrder (node node/sched.js order) returns the order in which
// process.nextTick, Promise, setTimeout(0) and setImmediate callbacks run,
// queued from the main script and from an I/O callback. Call it from a
// task, not from a microtask: queued from inside a promise callback, the
// promise callback runs before the nextTick one, since Node drains the
// nextTick queue only between microtask checkpoints.

const { parentPort } = require('node:worker_threads');
const { monitorEventLoopDelay } = require('node:perf_hooks');
const { quantile, sumRuns } = require('./harness.js');
const { startWorkers, request } = require('./channels.js');

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
  return out;
}

if (require.main === module && process.argv[2] === 'order') {
  eventOrder().then((o) => process.stdout.write(JSON.stringify(o) + '\n'));
}

module.exports = { benchmarks, workers: { hash: hashWorker }, fnv1a, fnvBuffer, hashChunks, parallelEventLoop, Pool, preempt, eventOrder, spin };
