'use strict';
// channels: shared memory between worker_threads, beside the channels
// package of the Go suite (C27, C28, C30, C31).
//
// BenchmarkChanLitmus/test={sb,mp}/sync={plain,atomic}: the store-buffering
// and message-passing litmus tests between two workers on a
// SharedArrayBuffer, with plain Int32Array loads and stores or with
// Atomics.load/store (sequentially consistent, as Go's sync/atomic, hence
// the same key sync=atomic as the Go rows). In MP only the flag is atomic,
// as in Go: the data stays a plain store that the flag publishes. The
// trial structure is Go's RunLitmus: both threads meet at a barrier of two
// Atomics counters before every trial, every trial uses fresh variables (a
// batch of 1024 slots, x and y 64 bytes apart), and thread 0 tallies and
// clears a batch between two barriers. What JS cannot do: bind a worker
// to a CPU (Go pins both threads where Linux allows), so on a busy machine
// fewer trials overlap and the plain runs show fewer forbidden outcomes.
//
// BenchmarkChanPingPong/impl={atomics,postmessage}: one round trip between
// two workers, timed inside the pinging worker: a turn word on a
// SharedArrayBuffer with Atomics.wait/notify (what Go's impl=waitnotify
// models), or a MessageChannel between the workers.
//
// BenchmarkChanContended/impl={atomic,plain}/procs={1,all}: procs workers
// increment one Int32 of a SharedArrayBuffer, Atomics.add or a plain
// a[0]++, msgs increments in all; ns/op is per increment, lost-% the
// plain increments that another worker's overwrote. procs=all is the -N
// of the result names (harness.procs: GOMAXPROCS or Go's default), as Go's.

const { Worker, MessageChannel, parentPort } = require('node:worker_threads');
const { once } = require('node:events');
const path = require('node:path');
const { sumRuns } = require('./harness.js');

const workerFile = path.join(__dirname, 'worker.js');

// Litmus layout in one Int32Array: the two barrier counters on their own
// 64-byte lines, then the slots, 128 bytes each, x at +0 and y at +64.
const batchSize = 1024;
const arrived0 = 0;
const arrived1 = 16;
const slotsBase = 32;
const slotInts = 32;
const yOffset = 16;

// spinUntil polls a[i] until it reaches v. After a run of failed polls it
// sleeps 50 µs in Atomics.wait, so that a worker whose peer the OS
// descheduled (one CPU, a loaded machine) gives its CPU up.
function spinUntil(a, i, v) {
  let polls = 0;
  for (;;) {
    const cur = Atomics.load(a, i);
    if (cur >= v) return;
    if (++polls % 1024 === 0) Atomics.wait(a, i, cur, 0.05);
  }
}

// The sides of each test: thread 0 returns what it read (SB: r1=y), thread
// 1 too (SB: r2=x; MP: r1<<1 | r2). x is data, y the flag in MP.
const sides = {
  'sb/plain': [
    (m, s) => {
      m[s] = 1;
      return m[s + yOffset];
    },
    (m, s) => {
      m[s + yOffset] = 1;
      return m[s];
    },
  ],
  'sb/atomic': [
    (m, s) => {
      Atomics.store(m, s, 1);
      return Atomics.load(m, s + yOffset);
    },
    (m, s) => {
      Atomics.store(m, s + yOffset, 1);
      return Atomics.load(m, s);
    },
  ],
  'mp/plain': [
    (m, s) => {
      m[s] = 1;
      m[s + yOffset] = 1;
      return 0;
    },
    (m, s) => {
      const r1 = m[s + yOffset];
      return r1 === 1 ? 2 | m[s] : 0;
    },
  ],
  'mp/atomic': [
    (m, s) => {
      m[s] = 1;
      Atomics.store(m, s + yOffset, 1);
      return 0;
    },
    (m, s) => {
      const r1 = Atomics.load(m, s + yOffset);
      return r1 === 1 ? 2 | m[s] : 0;
    },
  ],
};

// forbidden says whether thread 0's and thread 1's results are the outcome
// the test forbids: SB r1=r2=0, MP flag seen but stale data.
function forbidden(test, r0, r1) {
  return test === 'sb' ? r0 === 0 && r1 === 0 : r1 === 2;
}

// litmusSide is the loop of one litmus thread, run in a worker.
function litmusSide({ sab, res, counts, elapsed, thread, test, sync }) {
  const m = new Int32Array(sab);
  const r = [new Uint8Array(res, 0, batchSize), new Uint8Array(res, batchSize, batchSize)];
  const c = new Int32Array(counts);
  const el = new Float64Array(elapsed);
  const side = sides[`${test}/${sync}`][thread];
  const mine = thread === 0 ? arrived0 : arrived1;
  const peer = thread === 0 ? arrived1 : arrived0;
  parentPort.on('message', ({ trials }) => {
    const n = Math.min(trials, batchSize);
    const tally = (k) => {
      for (let i = 0; i < k; i++) {
        c[(r[0][i] << 2) | r[1][i]]++;
        const s = slotsBase + i * slotInts;
        m[s] = 0;
        m[s + yOffset] = 0;
      }
    };
    const start = process.hrtime.bigint();
    for (let t = 0; t < trials; t++) {
      const i = t % n;
      if (thread === 0 && i === 0 && t > 0) {
        spinUntil(m, peer, t + 1);
        tally(n);
      }
      Atomics.store(m, mine, t + 1);
      spinUntil(m, peer, t + 1);
      r[thread][i] = side(m, slotsBase + i * slotInts);
    }
    if (thread === 0) {
      spinUntil(m, peer, trials + 1);
      el[0] = Number(process.hrtime.bigint() - start);
      tally(((trials - 1) % n) + 1);
    } else {
      Atomics.store(m, mine, trials + 1);
    }
    parentPort.postMessage('done');
  });
}

// startWorkers starts one worker per data and waits until all are online.
// On failure it terminates those started and rethrows.
async function startWorkers(datas, transfers = []) {
  const ws = [];
  try {
    for (let i = 0; i < datas.length; i++) {
      const w = new Worker(workerFile, { workerData: datas[i], transferList: transfers[i] || [] });
      ws.push(w);
      await once(w, 'online');
    }
  } catch (e) {
    await Promise.all(ws.map((w) => w.terminate()));
    throw e;
  }
  return ws;
}

// request posts msg to each worker and waits for one reply from each; a
// worker's error or exit rejects.
function request(ws, msgs) {
  return Promise.all(
    ws.map((w, i) => {
      const p = once(w, 'message').then(([m]) => m);
      w.postMessage(msgs[i]);
      return p;
    }),
  );
}

// Litmus is two persistent workers running one litmus test on demand.
class Litmus {
  static async start(test, sync) {
    const l = new Litmus();
    l.test = test;
    l.sab = new SharedArrayBuffer((slotsBase + batchSize * slotInts) * 4);
    l.res = new SharedArrayBuffer(2 * batchSize);
    l.counts = new SharedArrayBuffer(16 * 4);
    l.elapsed = new SharedArrayBuffer(8);
    const data = (thread) => ({ topic: 'channels', role: 'litmus', sab: l.sab, res: l.res, counts: l.counts, elapsed: l.elapsed, thread, test, sync });
    l.workers = await startWorkers([data(0), data(1)]);
    return l;
  }

  // run runs trials trials and returns {trials, forbidden, counts, ns}.
  async run(trials) {
    const m = new Int32Array(this.sab);
    m[arrived0] = 0;
    m[arrived1] = 0;
    const c = new Int32Array(this.counts);
    c.fill(0);
    await request(this.workers, [{ trials }, { trials }]);
    let bad = 0;
    let total = 0;
    const outcomes = {};
    for (let code = 0; code < 16; code++) {
      if (c[code] === 0) continue;
      total += c[code];
      outcomes[`${code >> 2},${code & 3}`] = c[code];
      if (forbidden(this.test, code >> 2, code & 3)) bad += c[code];
    }
    return { trials: total, forbidden: bad, outcomes, ns: new Float64Array(this.elapsed)[0] };
  }

  close() {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// Ping-pong turn word values.
const turnPing = 1;
const turnPong = 2;
const turnStop = 3;

function pingAtomics({ sab }) {
  const t = new Int32Array(sab);
  parentPort.on('message', ({ n }) => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      Atomics.store(t, 0, turnPing);
      Atomics.notify(t, 0, 1);
      while (Atomics.load(t, 0) === turnPing) Atomics.wait(t, 0, turnPing);
    }
    parentPort.postMessage(Number(process.hrtime.bigint() - start));
  });
}

function echoAtomics({ sab }) {
  const t = new Int32Array(sab);
  for (;;) {
    let v;
    while ((v = Atomics.load(t, 0)) !== turnPing) {
      if (v === turnStop) return;
      Atomics.wait(t, 0, v);
    }
    Atomics.store(t, 0, turnPong);
    Atomics.notify(t, 0, 1);
  }
}

function pingPort({ port }) {
  parentPort.on('message', ({ n }) => {
    let i = 0;
    const start = process.hrtime.bigint();
    port.on('message', function pong() {
      if (++i < n) {
        port.postMessage(i);
        return;
      }
      port.off('message', pong);
      parentPort.postMessage(Number(process.hrtime.bigint() - start));
    });
    port.postMessage(i);
  });
}

function echoPort({ port }) {
  port.on('message', (m) => port.postMessage(m));
}

// PingPong is a pinging and an echoing worker.
class PingPong {
  static async start(impl) {
    const p = new PingPong();
    if (impl === 'atomics') {
      p.sab = new SharedArrayBuffer(4);
      p.workers = await startWorkers([
        { topic: 'channels', role: 'pingAtomics', sab: p.sab },
        { topic: 'channels', role: 'echoAtomics', sab: p.sab },
      ]);
    } else if (impl === 'postmessage') {
      const { port1, port2 } = new MessageChannel();
      p.workers = await startWorkers(
        [
          { topic: 'channels', role: 'pingPort', port: port1 },
          { topic: 'channels', role: 'echoPort', port: port2 },
        ],
        [[port1], [port2]],
      );
    } else {
      throw new Error(`channels: ping-pong impl ${impl} must be atomics or postmessage`);
    }
    return p;
  }

  // roundTrips runs n round trips and returns their total ns.
  async roundTrips(n) {
    const [ns] = await request([this.workers[0]], [{ n }]);
    return ns;
  }

  close() {
    if (this.sab) {
      const t = new Int32Array(this.sab);
      Atomics.store(t, 0, turnStop);
      Atomics.notify(t, 0);
    }
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

// Contended layout: the counter, then each worker's start and end times.
function increment({ sab, times, index, impl }) {
  const a = new Int32Array(sab);
  const tm = new BigInt64Array(times);
  const add = impl === 'atomic' ? () => Atomics.add(a, 0, 1) : () => a[0]++;
  parentPort.on('message', ({ k }) => {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < k; i++) add();
    tm[2 * index + 1] = process.hrtime.bigint();
    tm[2 * index] = t0;
    parentPort.postMessage('done');
  });
}

// Contended is procs workers incrementing one shared word.
class Contended {
  static async start(impl, procs) {
    if (impl !== 'atomic' && impl !== 'plain') throw new Error(`channels: contended impl ${impl} must be atomic or plain`);
    const c = new Contended();
    c.sab = new SharedArrayBuffer(64);
    c.times = new SharedArrayBuffer(16 * procs);
    const datas = [];
    for (let i = 0; i < procs; i++) datas.push({ topic: 'channels', role: 'increment', sab: c.sab, times: c.times, index: i, impl });
    c.workers = await startWorkers(datas);
    return c;
  }

  // run has the workers make msgs increments in all, split as evenly as
  // possible, and returns {msgs, counted, ns}: ns from the first worker's
  // start to the last one's end.
  async run(msgs) {
    const a = new Int32Array(this.sab);
    Atomics.store(a, 0, 0);
    const p = this.workers.length;
    await request(
      this.workers,
      this.workers.map((_, i) => ({ k: Math.floor(msgs / p) + (i < msgs % p ? 1 : 0) })),
    );
    const tm = new BigInt64Array(this.times);
    let first = tm[0];
    let last = tm[1];
    for (let i = 1; i < p; i++) {
      if (tm[2 * i] < first) first = tm[2 * i];
      if (tm[2 * i + 1] > last) last = tm[2 * i + 1];
    }
    return { msgs, counted: Atomics.load(a, 0), ns: Number(last - first) };
  }

  close() {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

function benchmarks({ short, procs }) {
  const out = [];
  const trials = short ? 10_000 : 100_000;
  for (const test of ['sb', 'mp']) {
    for (const sync of ['plain', 'atomic']) {
      out.push({
        name: `BenchmarkChanLitmus/test=${test}/sync=${sync}`,
        setup: () => Litmus.start(test, sync),
        fn: async (b, l) => {
          const sum = await sumRuns(b.n, () => l.run(trials));
          b.reportMetric(0, 'ns/op');
          b.reportMetric((sum.forbidden * 1e6) / sum.trials, 'forbidden/Mtrials');
          b.reportMetric(sum.trials / (sum.ns / 1e9), 'trials/s');
        },
      });
    }
  }
  for (const impl of ['atomics', 'postmessage']) {
    out.push({
      name: `BenchmarkChanPingPong/impl=${impl}`,
      setup: () => PingPong.start(impl),
      fn: async (b, p) => {
        b.reportMetric((await p.roundTrips(b.n)) / b.n, 'ns/op');
      },
    });
  }
  const msgs = short ? 1 << 12 : 1 << 16;
  for (const impl of ['atomic', 'plain']) {
    for (const p of ['1', 'all']) {
      const n = p === 'all' ? procs : 1;
      out.push({
        name: `BenchmarkChanContended/impl=${impl}/procs=${p}`,
        setup: () => Contended.start(impl, n),
        fn: async (b, c) => {
          const sum = await sumRuns(b.n, () => c.run(msgs));
          b.reportMetric(sum.ns / sum.msgs, 'ns/op');
          if (impl === 'plain') b.reportMetric((100 * (sum.msgs - sum.counted)) / sum.msgs, 'lost-%');
        },
      });
    }
  }
  return out;
}

const workers = { litmus: litmusSide, pingAtomics, echoAtomics, pingPort, echoPort, increment };

module.exports = { benchmarks, workers, Litmus, PingPong, Contended, startWorkers, request, forbidden, spinUntil };
