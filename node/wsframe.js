'use strict';
// wsframe: what the ws library does per WebSocket message, beside the Go
// suite's frame path (C35, C36, C39).
//
// BenchmarkWSFrameRead/impl=nodews/size=N: ws's own Receiver, as a
// WebSocketServer sets it up (isServer, maxPayload 100 MiB, synchronous
// events, no permessage-deflate), reads N-byte binary messages from the
// stream of masked client frames that the Go rows read: the same frames,
// masks and payloads, about 1 MiB of them, looping at the end. The stream
// reaches the Receiver as a socket would hand it over, in chunks of up to
// 64 KiB (a libuv read) written to the Receiver with write(); each chunk is
// first copied into one of a ring of buffers, as Go's in-memory conn copies
// into the reader's buffer, since ws unmasks in place. One op is one
// 'message' event, its payload handed to the listener.
//
// BenchmarkWSFrameWrite/impl=nodews/size=N: ws's Sender writes one
// unmasked binary message of N bytes per op (send(data, {binary, fin})),
// as a server, to a socket that discards what it is given.
//
// B/op is measured, not counted: the growth of V8's used heap plus the
// array buffers outside it (process.memoryUsage().arrayBuffers) over a
// batch of messages that starts right after a full collection, so no
// collection runs within it, the median of 5 batches. It is every byte ws
// and Node allocated per message on the way: Buffer views over the chunk
// (receiver.js consume), Buffer.allocUnsafe for a frame that spans two
// chunks (from the 8 KiB pool below Buffer.poolSize>>>1, its own
// ArrayBuffer above; C39), the header Buffer of every frame sent
// (sender.js frame), the event and option objects. Go's allocs/op has no
// V8 counterpart: V8 bump-allocates and counts no objects.

const v8 = require('node:v8');
const { fullGC } = require('./vmgc.js');

let ws;
try {
  ws = require('ws');
} catch (e) {
  throw new Error(`node/wsframe.js needs the ws package: run npm ci in node/ (${e.message})`);
}

const sizes = [16, 1024, 65536];
const streamBytes = 1 << 20; // as the Go rows' wsfStreamBytes
const chunkBytes = 64 << 10;
const maxPayload = 100 * 1024 * 1024; // WebSocketServer's default

// clientFrame is one masked binary frame of payload p with mask m, as
// wstest.RawFrame builds it.
function clientFrame(p, m) {
  const n = p.length;
  const ext = n < 126 ? 0 : n < 65536 ? 2 : 8;
  const f = Buffer.alloc(2 + ext + 4 + n);
  f[0] = 0x82; // FIN, binary
  if (ext === 0) f[1] = 0x80 | n;
  else if (ext === 2) {
    f[1] = 0x80 | 126;
    f.writeUInt16BE(n, 2);
  } else {
    f[1] = 0x80 | 127;
    f.writeBigUInt64BE(BigInt(n), 2);
  }
  m.copy(f, 2 + ext);
  for (let i = 0; i < n; i++) f[2 + ext + 4 + i] = p[i] ^ m[i & 3];
  return f;
}

// stream is the Go rows' stream for size: max(1, 2^20/(size+14)) frames,
// payload 'a'+i%26, frame i masked with [i, 0x5a, i>>8, 0xc3]. ends holds
// each frame's end offset.
function stream(size) {
  const n = Math.max(1, Math.floor(streamBytes / (size + 14)));
  const p = Buffer.alloc(size);
  for (let i = 0; i < size; i++) p[i] = 97 + (i % 26);
  const frames = [];
  const ends = [];
  let off = 0;
  for (let i = 0; i < n; i++) {
    const f = clientFrame(p, Buffer.from([i & 0xff, 0x5a, (i >> 8) & 0xff, 0xc3]));
    frames.push(f);
    off += f.length;
    ends.push(off);
  }
  return { buf: Buffer.concat(frames), ends };
}

// Reader feeds a Receiver the stream in chunks, exactly n messages per
// feed(n).
class Reader {
  constructor(size) {
    const s = stream(size);
    this.stream = s.buf;
    this.ends = s.ends;
    this.frame = 0; // next frame to complete
    this.off = 0; // stream offset
    this.ring = Array.from({ length: 8 }, () => Buffer.allocUnsafeSlow(chunkBytes));
    this.slot = 0;
    this.got = 0;
    this.bytes = 0;
    this.receiver = new ws.Receiver({ isServer: true, maxPayload, binaryType: 'nodebuffer' });
    this.receiver.on('message', (data) => {
      this.got++;
      this.bytes += data.length;
    });
    this.receiver.on('error', (err) => {
      throw err;
    });
  }

  // feed writes chunks until n more messages have been emitted. A chunk
  // ends at 64 KiB, at the end of the stream, or where the n-th message
  // ends.
  feed(n) {
    const want = this.got + n;
    while (this.got < want) {
      const left = want - this.got;
      const nf = this.ends.length;
      // The frame whose end closes the feed, if it lies before the stream's end.
      const last = this.frame + left - 1;
      let end = last < nf ? this.ends[last] : this.stream.length;
      end = Math.min(end, this.off + chunkBytes);
      const chunk = this.ring[this.slot].subarray(0, end - this.off);
      this.slot = (this.slot + 1) % this.ring.length;
      this.stream.copy(chunk, 0, this.off, end);
      const before = this.got;
      this.receiver.write(chunk);
      this.frame += this.got - before;
      this.off = end;
      if (this.off === this.stream.length) {
        this.off = 0;
        this.frame = 0;
      }
    }
  }
}

// nullSocket is what a Sender writes to: it takes every write at once.
const nullSocket = {
  written: 0,
  cork() {},
  uncork() {},
  write(data, cb) {
    this.written += data.length;
    if (cb) cb();
    return true;
  },
};

class Writer {
  constructor(size) {
    this.p = Buffer.alloc(size);
    for (let i = 0; i < size; i++) this.p[i] = i & 0xff;
    this.sender = new ws.Sender(nullSocket);
    this.opts = { binary: true, fin: true, mask: false, compress: false };
  }

  feed(n) {
    for (let i = 0; i < n; i++) this.sender.send(this.p, this.opts);
  }
}

// footprint is V8's used heap plus the array buffers outside it.
function footprint() {
  return v8.getHeapStatistics().used_heap_size + process.memoryUsage().arrayBuffers;
}

// bytesPerMessage is the median over 5 batches of the footprint's growth
// per message while feed(batch) runs, each batch right after a full
// collection (two: see below). A batch is sized to allocate about 256 KiB, from a first
// estimate, so that no scavenge is likely within it (the median discards
// the odd one that had one) while there are enough messages to spread the
// cost of reading the footprint, measured on an empty batch and taken off.
function bytesPerMessage(x) {
  const measure = (n) => {
    const runs = [];
    for (let i = 0; i < 5; i++) {
      // V8 frees the array buffers of dead objects in a sweep that runs
      // beside the program and that the next full collection completes:
      // after one, the last batch's buffers would be freed during this one.
      fullGC();
      fullGC();
      const before = footprint();
      x.feed(n);
      runs.push(footprint() - before);
    }
    runs.sort((a, b) => a - b);
    return runs[2];
  };
  x.feed(256); // warm: first-time allocations (the JIT's, the receiver's) out of the way
  const empty = measure(0);
  const first = Math.max(0, (measure(16) - empty) / 16);
  const batch = Math.min(4096, Math.max(16, Math.floor((256 << 10) / Math.max(first, 64))));
  return Math.max(0, (measure(batch) - empty) / batch);
}

function benchmarks() {
  const out = [];
  for (const [bench, Impl] of [['BenchmarkWSFrameRead', Reader], ['BenchmarkWSFrameWrite', Writer]]) {
    for (const size of sizes) {
      out.push({
        name: `${bench}/impl=nodews/size=${size}`,
        setup: () => new Impl(size),
        fn: (b, x) => {
          b.stopTimer();
          if (x.bytesPerMessage === undefined) x.bytesPerMessage = bytesPerMessage(x);
          b.setBytes(size);
          b.resetTimer();
          b.startTimer();
          x.feed(b.n);
          b.stopTimer();
          b.reportMetric(x.bytesPerMessage, 'B/op');
        },
      });
    }
  }
  return out;
}

module.exports = { benchmarks, Reader, Writer, stream, bytesPerMessage };
