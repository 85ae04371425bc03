'use strict';
// alloc: what V8 allocates, beside the alloc package of the Go suite (C04,
// C17, C26, C39).
//
// BenchmarkAllocSize/kind={noscan,scan}/size=N: one allocation of N bytes'
// worth, the Go rows' sizes that are whole 8-byte words (32769 is not).
// noscan is new Float64Array(N/8): pointer-free; V8 keeps a backing store
// of up to 64 bytes on its heap and puts larger ones outside it (malloc),
// counted through process.memoryUsage().arrayBuffers. scan is an array of
// N/8 references (new Array(N/8).fill(null)): N/8 pointer slots as Go's
// scan block of N bytes (Node's V8 is built without pointer compression,
// process.config.variables.v8_enable_pointer_compression is 0, so a slot is
// 8 bytes as in Go). B/op is measured:
// the V8 heap plus array-buffer growth per object of 4096 kept alive, after
// a full GC; ns/op is the allocation. Go's allocs/op and waste-% (size
// class rounding) have no V8 counterpart: V8 bump-allocates in pages.
//
// BenchmarkAllocHeap/kind={object,array,closure} (Node only): heap-B/obj,
// the V8 heap growth per {x} object, [x] array, and closure over a fresh
// variable (the function and its context), each kept alive.
//
// BenchmarkAllocPage/space={old,large} (Node only): page-B, the greatest
// common divisor of every change of v8.getHeapSpaceStatistics()'s
// space_size for the space while arrays are allocated and kept (old: small
// ones promoted by full GCs; large: ones above the regular object limit of
// sizes 8000 bytes apart, each its own chunk, promoted by full GCs).
//
// BenchmarkBufferAlloc/impl={allocunsafe,alloc,concat}/size=N (Node only,
// C39): Buffer.allocUnsafe(N), Buffer.alloc(N) and Buffer.concat of four
// N/4 fragments, at 64, Buffer.poolSize>>>1 less one, Buffer.poolSize>>>1,
// and 16384. pooled-% is the share of calls whose buffer shares its
// ArrayBuffer with the previous call's (the 8 KiB slab pool), observed;
// B/op is measured as for AllocSize.

const { Buffer } = require('node:buffer');
const v8 = require('node:v8');
const { fullGC } = require('./vmgc.js');

// footprint is the V8 heap plus the array buffers outside it, after a full
// GC.
function footprint() {
  // V8 frees array buffers of dead objects in a sweeper that the next full
  // GC completes, and on a busy machine its concurrent sweeper can lag
  // further: collect until the figure stops falling (at most 10 times), so
  // that garbage left by earlier work is not counted before and gone after.
  const read = () => v8.getHeapStatistics().used_heap_size + process.memoryUsage().arrayBuffers;
  fullGC();
  let prev = read();
  for (let i = 0; i < 10; i++) {
    fullGC();
    const cur = read();
    if (cur >= prev) return cur;
    prev = cur;
  }
  return prev;
}

// bytesPerObject keeps count objects made by make alive and returns the
// growth of footprint per object.
function bytesPerObject(make, count = 4096) {
  const keep = new Array(count).fill(null);
  const before = footprint();
  for (let i = 0; i < count; i++) keep[i] = make(i);
  const after = footprint();
  if (keep.length !== count) throw new Error('alloc: kept objects lost');
  return (after - before) / count;
}

// timeAlloc is b.n calls of make, each result stored in a small ring so
// the JIT cannot drop the allocation.
function timeAlloc(b, make) {
  const ring = new Array(256).fill(null);
  b.resetTimer();
  b.startTimer();
  for (let i = 0; i < b.n; i++) ring[i & 255] = make(i);
  b.stopTimer();
  return ring;
}

const allocSizes = [8, 16, 24, 32, 48, 64, 128, 512, 1024, 4096, 8192, 32760, 32768, 65536];

const makers = {
  noscan: (n) => () => new Float64Array(n / 8),
  scan: (n) => () => new Array(n / 8).fill(null),
};

const heapKinds = {
  object: (i) => ({ x: i }),
  array: (i) => [i],
  closure: (i) => {
    let v = i;
    return () => v++;
  },
};

function gcd(a, b) {
  while (b) [a, b] = [b, a % b];
  return a;
}

// pageBytes is the gcd of the changes of space's space_size while grow(i)
// runs for i < steps.
function pageBytes(space, steps, grow) {
  const size = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === space).space_size;
  let g = 0;
  let last = size();
  for (let i = 0; i < steps; i++) {
    grow(i);
    const s = size();
    g = gcd(g, Math.abs(s - last));
    last = s;
  }
  return g;
}

const bufferImpls = {
  allocunsafe: (n) => Buffer.allocUnsafe(n),
  alloc: (n) => Buffer.alloc(n),
  concat: (n) => {
    const f = Buffer.alloc(n / 4);
    return Buffer.concat([f, f, f, f], n);
  },
};

// pooledShare is the share of calls whose buffer has the same ArrayBuffer
// as the previous call's.
function pooledShare(make, calls = 256) {
  let prev = make();
  let same = 0;
  for (let i = 0; i < calls; i++) {
    const b = make();
    if (b.buffer === prev.buffer) same++;
    prev = b;
  }
  return same / calls;
}

function benchmarks({ short }) {
  const out = [];
  for (const kind of Object.keys(makers)) {
    for (const size of allocSizes) {
      const make = makers[kind](size);
      out.push({
        name: `BenchmarkAllocSize/kind=${kind}/size=${size}`,
        fn: (b) => {
          b.stopTimer();
          const bytes = bytesPerObject(make, short ? 2048 : 4096);
          timeAlloc(b, make);
          b.reportMetric(bytes, 'B/op');
        },
      });
    }
  }
  for (const kind of Object.keys(heapKinds)) {
    out.push({
      name: `BenchmarkAllocHeap/kind=${kind}`,
      fn: (b) => {
        b.stopTimer();
        const bytes = bytesPerObject(heapKinds[kind], 65536);
        timeAlloc(b, heapKinds[kind]);
        b.reportMetric(bytes, 'heap-B/obj');
      },
    });
  }
  const spaces = {
    old: (keep) => (i) => {
      for (let j = 0; j < 256; j++) keep.push(new Array(64).fill(i));
      fullGC();
    },
    large: (keep) => (i) => {
      keep.push(new Array(40000 + 1000 * i).fill(null));
      fullGC(); // from new_large_object_space to large_object_space
    },
  };
  for (const space of Object.keys(spaces)) {
    out.push({
      name: `BenchmarkAllocPage/space=${space}`,
      fn: (b) => {
        let g = 0;
        for (let i = 0; i < b.n; i++) {
          const keep = [];
          g = gcd(g, pageBytes(space === 'old' ? 'old_space' : 'large_object_space', short ? 16 : 64, spaces[space](keep)));
        }
        b.reportMetric(0, 'ns/op');
        b.reportMetric(g, 'page-B');
      },
    });
  }
  const half = Buffer.poolSize >>> 1;
  for (const impl of Object.keys(bufferImpls)) {
    for (const size of [64, half - 4, half, 16384]) {
      const make = () => bufferImpls[impl](size);
      out.push({
        name: `BenchmarkBufferAlloc/impl=${impl}/size=${size}`,
        fn: (b) => {
          b.stopTimer();
          const bytes = bytesPerObject(make, short ? 256 : 2048);
          const pooled = pooledShare(make);
          timeAlloc(b, make);
          b.reportMetric(bytes, 'B/op');
          b.reportMetric(100 * pooled, 'pooled-%');
        },
      });
    }
  }
  return out;
}

module.exports = { benchmarks, bytesPerObject, pooledShare, pageBytes, bufferImpls, makers, heapKinds, allocSizes };
