'use strict';
// What must hold of the ws frame rows on any machine: every message is
// read back intact and counted, every write carries header and payload,
// and the allocation that C39 is about is there.
const test = require('node:test');
const assert = require('node:assert');
const wsframe = require('../wsframe.js');

test('wsframe: the Go rows\' stream, frames on their boundaries', () => {
  const s = wsframe.stream(1024);
  assert.strictEqual(s.ends.length, Math.floor((1 << 20) / (1024 + 14)));
  assert.strictEqual(s.ends[s.ends.length - 1], s.buf.length);
  assert.strictEqual(s.ends[0], 2 + 2 + 4 + 1024, 'a 16-bit length and a mask');
});

test('wsframe: the Receiver emits exactly the messages fed, unmasked', () => {
  for (const size of [16, 1024, 65536]) {
    const r = new wsframe.Reader(size);
    const seen = [];
    r.receiver.on('message', (data, isBinary) => {
      assert.ok(isBinary);
      if (seen.length < 3) seen.push(Buffer.from(data));
    });
    const n = r.ends.length + 5; // past the end of the stream: it loops
    r.feed(n);
    assert.strictEqual(r.got, n, `size ${size}`);
    assert.strictEqual(r.bytes, n * size);
    const want = Buffer.alloc(size);
    for (let i = 0; i < size; i++) want[i] = 97 + (i % 26);
    for (const d of seen) assert.deepStrictEqual(d, want, `size ${size}: payload unmasked`);
    r.feed(1);
    assert.strictEqual(r.got, n + 1, 'exactly one more');
  }
});

test('wsframe: the Sender writes header and payload per message', () => {
  const w = new wsframe.Writer(1024);
  const sock = w.sender._socket;
  const before = sock.written;
  w.feed(10);
  assert.strictEqual(sock.written - before, 10 * (4 + 1024), 'a 4-byte header (16-bit length, no mask) and the payload');
});

test('wsframe: a 64 KiB message spanning two socket chunks is copied into a new buffer (C39)', () => {
  // 65550-byte frames in 64 KiB chunks: every payload spans two chunks, and
  // ws's Receiver joins them with Buffer.allocUnsafe(65536), above the
  // pool's limit, so each message allocates at least its own size. Counted
  // at the call, not from heap growth, which a collection during the batch
  // can hide (it read 60104 B/message once under -race load).
  const r = new wsframe.Reader(65536);
  r.feed(2); // warm up
  const orig = Buffer.allocUnsafe;
  let big = 0;
  Buffer.allocUnsafe = function (n) {
    if (n >= 65536) big++;
    return orig.call(this, n);
  };
  try {
    r.feed(10);
  } finally {
    Buffer.allocUnsafe = orig;
  }
  assert.ok(big >= 10, `${big} allocations of 64 KiB or more for 10 messages`);
});
