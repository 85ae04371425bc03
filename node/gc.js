'use strict';
// gc: V8's collector on the heap shapes of the Go suite (C06, C18, C47) and
// the cost of looking at the heap (C43, C44).
//
// BenchmarkGCShape/survival={0.05,0.2,0.5}/ptrs={none,low,high} builds the
// Go suite's heap: Live bytes (32 MiB, 8 MiB with -short) of 512-byte
// units held by a table; one op allocates one live heap's worth of new
// units, and Survival of them replace the oldest live ones (the same FIFO
// and survivor carry as Go's gc.Heap.Churn). The units, as close as V8
// allows to Go's:
//   none: one array of 64 unboxed doubles (a 512-byte pointer-free backing
//         store; V8 adds a 16-byte array object and a 8-byte header);
//   low:  two objects pointing at each other, each with an array of 31
//         doubles (248 bytes of data): one reference per object as in Go,
//         plus the object's reference to its data array;
//   high: eight objects of seven references (to the other seven) and one
//         small integer: 8 fields of 8 bytes (Node builds V8 without
//         pointer compression) plus a 24-byte object header, 88 bytes
//         where Go's node is 64.
// Pauses come from PerformanceObserver 'gc' entries in the timed loop:
// p50/p99-pause-ns over all of them, p99-minor-pause-ns over scavenges,
// p99-major-pause-ns over mark-compact and incremental marking steps.
// gcs/op counts scavenges and mark-compacts (not incremental steps),
// split into minor-gcs/op and major-gcs/op. gc-cpu-% is the main thread's
// GC pause time over the loop's wall time: V8's concurrent and parallel
// helper threads are not in it (Go's gc-cpu-% counts every GC worker over
// GOMAXPROCS x wall time). ptrs/KiB counts the references the program
// made (table slots and unit references, not V8's map, properties and
// elements words) per KiB of measured heap. Go's scan-B/cycle has no V8
// counterpart.
//
// BenchmarkGCObserve/method={memoryusage,heapstatistics,heapsnapshot} times
// process.memoryUsage(), v8.getHeapStatistics() and v8.writeHeapSnapshot()
// on a live heap of the same size (survival 0.2, ptrs=high), churning a
// sixteenth of it between looks (Go churns in another goroutine; a Node
// isolate has one thread). snapshot-B is the snapshot file's size.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const v8 = require('node:v8');
const { PerformanceObserver, performance, constants } = require('node:perf_hooks');
const { quantile } = require('./harness.js');
const { fullGC, heapUsedAfterGC } = require('./vmgc.js');

const unitBytes = 512;
const slotBytes = 8;

class HighNode {
  constructor(val) {
    this.p0 = null;
    this.p1 = null;
    this.p2 = null;
    this.p3 = null;
    this.p4 = null;
    this.p5 = null;
    this.p6 = null;
    this.val = val;
  }
}

function doubles(n) {
  const a = [];
  for (let i = 0; i < n; i++) a.push(i + 0.5);
  return a;
}

// units makes one unit of each density, and counts its references.
const densities = {
  none: { refs: 0, make: () => doubles(64) },
  low: {
    refs: 4,
    make: () => {
      const a = { next: null, data: doubles(31) };
      const b = { next: a, data: doubles(31) };
      a.next = b;
      return a;
    },
  },
  high: {
    refs: 56,
    make: () => {
      const n = [];
      for (let i = 0; i < 8; i++) n.push(new HighNode(i));
      for (let i = 0; i < 8; i++) {
        const x = n[i];
        x.p0 = n[(i + 1) % 8];
        x.p1 = n[(i + 2) % 8];
        x.p2 = n[(i + 3) % 8];
        x.p3 = n[(i + 4) % 8];
        x.p4 = n[(i + 5) % 8];
        x.p5 = n[(i + 6) % 8];
        x.p6 = n[(i + 7) % 8];
      }
      return n[0];
    },
  },
};

// Heap is a live table of units and the churn of Go's gc.Heap.
class Heap {
  constructor(live, survival, ptrs) {
    const d = densities[ptrs];
    if (!d) throw new Error(`gc: ptrs ${ptrs} must be none, low or high`);
    this.make = d.make;
    this.refs = d.refs;
    this.survival = survival;
    this.units = Math.floor(live / (unitBytes + slotBytes));
    const before = heapUsedAfterGC();
    this.slots = new Array(this.units).fill(null);
    for (let i = 0; i < this.units; i++) this.slots[i] = this.make();
    this.heapBytes = heapUsedAfterGC() - before;
    this.batch = new Array(64).fill(null);
    this.next = 0;
    this.acc = 0;
  }

  // ptrsPerKiB is the program's references per KiB of measured heap.
  ptrsPerKiB() {
    return (this.units * (1 + this.refs)) / (this.heapBytes / 1024);
  }

  // churn allocates n units and keeps survival of them.
  churn(n) {
    const { batch, slots } = this;
    while (n > 0) {
      const k = Math.min(n, batch.length);
      for (let i = 0; i < k; i++) batch[i] = this.make();
      this.acc += this.survival * k;
      const keep = Math.floor(this.acc);
      this.acc -= keep;
      for (let i = 0; i < keep && slots.length > 0; i++) {
        slots[this.next] = batch[i];
        this.next = (this.next + 1) % slots.length;
      }
      n -= k;
    }
    batch.fill(null);
  }

  release() {
    this.slots = [];
  }
}

const minor = constants.NODE_PERFORMANCE_GC_MINOR;
const major = constants.NODE_PERFORMANCE_GC_MAJOR;
const incremental = constants.NODE_PERFORMANCE_GC_INCREMENTAL;

// GCMeter collects the 'gc' performance entries between start and stop.
class GCMeter {
  constructor() {
    this.entries = [];
    this.obs = new PerformanceObserver((list) => this.entries.push(...list.getEntries()));
    this.obs.observe({ entryTypes: ['gc'] });
    this.t0 = performance.now();
  }

  // stop waits for the entries still queued (they arrive as a task) and
  // summarizes those that started in the metered window.
  async stop() {
    const t1 = performance.now();
    await new Promise((r) => setTimeout(r, 20));
    this.obs.disconnect();
    const es = this.entries.filter((e) => e.startTime >= this.t0 && e.startTime <= t1);
    const ns = (xs) => xs.map((e) => e.duration * 1e6).sort((a, b) => a - b);
    const kind = (e) => (e.detail ? e.detail.kind : e.kind);
    const all = ns(es);
    const minors = ns(es.filter((e) => kind(e) === minor));
    const majors = ns(es.filter((e) => kind(e) === major || kind(e) === incremental));
    const total = all.reduce((a, b) => a + b, 0);
    return {
      pauses: all.length,
      p50: quantile(all, 0.5),
      p99: quantile(all, 0.99),
      p99Minor: quantile(minors, 0.99),
      p99Major: quantile(majors, 0.99),
      minor: minors.length,
      majorPauses: majors.length,
      major: es.filter((e) => kind(e) === major).length,
      gcShare: t1 > this.t0 ? total / ((t1 - this.t0) * 1e6) : 0,
    };
  }
}

function gcLive(short) {
  return short ? 8 << 20 : 32 << 20;
}

// look returns the look of one method; snapshot paths go under dir.
function looker(method, dir) {
  switch (method) {
    case 'memoryusage':
      return () => process.memoryUsage();
    case 'heapstatistics':
      return () => v8.getHeapStatistics();
    case 'heapsnapshot':
      return () => {
        const file = v8.writeHeapSnapshot(path.join(dir, `rtlab-${process.pid}.heapsnapshot`));
        const size = fs.statSync(file).size;
        fs.unlinkSync(file);
        return size;
      };
  }
  throw new Error(`gc: method ${method} must be memoryusage, heapstatistics or heapsnapshot`);
}

function benchmarks({ short }) {
  const out = [];
  const live = gcLive(short);
  for (const survival of [0.05, 0.2, 0.5]) {
    for (const ptrs of Object.keys(densities)) {
      out.push({
        name: `BenchmarkGCShape/survival=${survival}/ptrs=${ptrs}`,
        setup: () => new Heap(live, survival, ptrs),
        fn: async (b, h) => {
          b.stopTimer();
          fullGC();
          const m = new GCMeter();
          b.startTimer();
          for (let i = 0; i < b.n; i++) h.churn(h.units);
          b.stopTimer();
          const st = await m.stop();
          b.reportMetric(st.p50, 'p50-pause-ns');
          b.reportMetric(st.p99, 'p99-pause-ns');
          b.reportMetric(100 * st.gcShare, 'gc-cpu-%');
          b.reportMetric((st.minor + st.major) / b.n, 'gcs/op');
          b.reportMetric(st.minor / b.n, 'minor-gcs/op');
          b.reportMetric(st.major / b.n, 'major-gcs/op');
          // A p99 of no pauses is no figure, not 0 ns: left out.
          if (st.minor > 0) b.reportMetric(st.p99Minor, 'p99-minor-pause-ns');
          if (st.majorPauses > 0) b.reportMetric(st.p99Major, 'p99-major-pause-ns');
          b.reportMetric(h.ptrsPerKiB(), 'ptrs/KiB');
        },
      });
    }
  }
  for (const method of ['memoryusage', 'heapstatistics', 'heapsnapshot']) {
    out.push({
      name: `BenchmarkGCObserve/method=${method}`,
      setup: () => {
        const h = new Heap(live, 0.2, 'high');
        h.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtlab-gc-'));
        h.close = () => fs.rmSync(h.dir, { recursive: true, force: true });
        return h;
      },
      fn: async (b, h) => {
        const look = looker(method, h.dir);
        const d = [];
        let bytes = 0;
        for (let i = 0; i < b.n; i++) {
          h.churn(Math.ceil(h.units / 16));
          const t0 = process.hrtime.bigint();
          const r = look();
          d.push(Number(process.hrtime.bigint() - t0));
          if (typeof r === 'number') bytes += r;
        }
        d.sort((x, y) => x - y);
        b.reportMetric(0, 'ns/op');
        b.reportMetric(quantile(d, 0.5), 'p50-ns');
        b.reportMetric(quantile(d, 0.99), 'p99-ns');
        if (method === 'heapsnapshot') b.reportMetric(bytes / b.n, 'snapshot-B');
      },
    });
  }
  return out;
}

module.exports = { benchmarks, Heap, GCMeter, densities, looker, gcLive };
