'use strict';
// node/wsserver.js is the Node ws echo server of the root benchmarks
// BenchmarkWSIdleConns, BenchmarkWSEcho, BenchmarkWSEchoRate and
// BenchmarkWSLifecycle (server=nodews), run as a child process by
// wsconn/load.CommandServerChild:
//
//   node --expose-gc node/wsserver.js
//
// It echoes every message with ws's WebSocketServer as its README shows
// (ws.send(data, { binary: isBinary }) from the 'message' event), with
// ws's defaults: no permessage-deflate, clientTracking on, maxPayload
// 100 MiB. The only options set are where it listens: 127.0.0.1 at a free
// port.
//
// wss://: when the environment holds RTLAB_TLS_CERT and RTLAB_TLS_KEY (a
// PEM certificate and its key, ECDSA P-256, made in memory by the Go
// parent: wsconn/load's ServerChild.WithTLS), it serves TLS 1.3 only with
// them, as ws's README does for wss: https.createServer({ cert, key })
// with the WebSocketServer attached ({ server }). The key is read from the
// environment once, deleted from process.env, and never written anywhere.
//
// It speaks the line protocol of rtlab's Go server children
// (internal/child's Serve): the first stdout line is {"data":"host:port"}
// once it listens, then one JSON line per command read from stdin. The
// parent reads RSS and VSS from /proc/<pid> itself; the runtime figures are
// V8's, mapped onto the Go names of wsconn/load.ProcStats:
//
//   HeapLive, HeapInUse  V8's used heap plus memory outside it held by
//                        JavaScript objects (Buffers, process.memoryUsage().external)
//   HeapGoal             V8's committed heap (total_heap_size)
//   Stacks, Goroutines   0: one thread, one stack, no goroutine per connection
//   GCCycles             collections observed (PerformanceObserver 'gc')
//   FDs                  entries of /proc/self/fd
//
// "gc" is two full collections (global.gc, hence --expose-gc): V8 frees
// the array buffers of dead objects in a sweep that the next full
// collection completes, so after two the figures hold no garbage, as after
// Go's runtime.GC. "free" is the same: V8 has no debug.FreeOSMemory.
// "heapprofile" answers an error: V8 writes heap snapshots, not pprof.
// The process exits when stdin ends or its parent (RTLAB_CHILD_PPID) is
// gone.

const fs = require('node:fs');
const https = require('node:https');
const readline = require('node:readline');
const v8 = require('node:v8');
const { PerformanceObserver, performance } = require('node:perf_hooks');
const { WebSocketServer } = require('ws');

// reply writes one answer line. stdout is a pipe, which Node writes
// synchronously on Linux, so an answer is out before the next command.
function reply(data, err) {
  const r = err ? { err: String(err && err.message ? err.message : err) } : { data: data === undefined ? null : data };
  process.stdout.write(JSON.stringify(r) + '\n');
}

let gcCycles = 0;
let maxPause = 0; // longest collection since the last sample, ms
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    gcCycles++;
    maxPause = Math.max(maxPause, e.duration);
  }
}).observe({ entryTypes: ['gc'] });

function heapBytes() {
  const h = v8.getHeapStatistics();
  return { used: h.used_heap_size + h.external_memory, committed: h.total_heap_size };
}

function openFDs() {
  try {
    return fs.readdirSync('/proc/self/fd').length;
  } catch {
    return -1;
  }
}

function stats() {
  const h = heapBytes();
  return { HeapLive: h.used, HeapInUse: h.used, HeapGoal: h.committed, Stacks: 0, Goroutines: 0, GCCycles: gcCycles, FDs: openFDs() };
}

function fullGC() {
  if (typeof global.gc !== 'function') throw new Error('nodews: global.gc is missing: run node with --expose-gc');
  global.gc();
  global.gc();
}

// now is the wall clock with microseconds, as RFC 3339 for Go's time.Time.
function now() {
  const ms = performance.timeOrigin + performance.now();
  const whole = Math.floor(ms);
  const micros = String(Math.floor((ms - whole) * 1000)).padStart(3, '0');
  return new Date(whole).toISOString().replace('Z', `${micros}Z`);
}

// statm reads RSS and VSS from /proc/self/statm, as Go's sampler does.
const pageSize = 4096;
function statm() {
  try {
    const [vss, rss] = fs.readFileSync('/proc/self/statm', 'utf8').split(' ').map(Number);
    return { RSS: rss * pageSize, VSS: vss * pageSize };
  } catch {
    return { RSS: 0, VSS: 0 };
  }
}

// parseDuration reads the Go durations the parent sends ("100ms", "1s").
function parseDuration(s) {
  const unit = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1e3, m: 60e3, h: 3600e3 };
  const re = /([0-9.]+)(ns|us|µs|ms|s|m|h)/y;
  let ms = 0;
  let i = 0;
  while (i < s.length) {
    re.lastIndex = i;
    const m = re.exec(s);
    if (!m) throw new Error(`nodews: bad duration ${JSON.stringify(s)}`);
    ms += Number(m[1]) * unit[m[2]];
    i = re.lastIndex;
  }
  if (!(ms > 0)) throw new Error(`nodews: bad duration ${JSON.stringify(s)}`);
  return ms;
}

// sampler records the Go sampler's Sample fields every interval.
class Sampler {
  constructor(ms) {
    this.ms = ms;
    this.samples = [];
    this.take();
    this.timer = setInterval(() => this.take(), ms);
  }

  take() {
    const h = heapBytes();
    const m = statm();
    this.samples.push({
      Time: now(), RSS: m.RSS, VSS: m.VSS, HeapLive: h.used, HeapGoal: h.committed,
      Stacks: 0, Goroutines: 0, GCCycles: gcCycles, LastPause: Math.round(maxPause * 1e6),
    });
    maxPause = 0;
  }

  stop() {
    clearInterval(this.timer);
    this.take();
    return { Interval: Math.round(this.ms * 1e6), Samples: this.samples, Busy: 0, CPU: 0 };
  }
}

function memClasses() {
  const m = {};
  for (const s of v8.getHeapSpaceStatistics()) m[`v8/${s.space_name}:bytes`] = s.space_used_size;
  const u = process.memoryUsage();
  m['external:bytes'] = u.external;
  m['array-buffers:bytes'] = u.arrayBuffers;
  return m;
}

function main() {
  const ppid = process.env.RTLAB_CHILD_PPID;
  if (ppid) {
    setInterval(() => {
      if (String(process.ppid) !== ppid) {
        process.stderr.write('nodews: parent exited; exiting\n');
        process.exit(3);
      }
    }, 200).unref();
  }
  const wss = listen();
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {}); // a client gone mid-message; ws closes the socket
  });
  wss.on('error', (err) => {
    reply(null, `nodews: ${err.message}`);
    process.exit(1);
  });
  wss.on('listening', () => {
    const a = wss.address();
    reply(`${a.address}:${a.port}`);
    serve(wss);
  });
}

// listen starts the WebSocketServer on 127.0.0.1 at a free port: over an
// https server (TLS 1.3) when the parent handed over a certificate and key,
// else on a plain one of its own.
function listen() {
  const cert = process.env.RTLAB_TLS_CERT;
  const key = process.env.RTLAB_TLS_KEY;
  delete process.env.RTLAB_TLS_CERT;
  delete process.env.RTLAB_TLS_KEY;
  if (!cert && !key) return new WebSocketServer({ host: '127.0.0.1', port: 0 });
  if (!cert || !key) {
    reply(null, 'nodews: RTLAB_TLS_CERT and RTLAB_TLS_KEY must be given together');
    process.exit(1);
  }
  const server = https.createServer({ cert, key, minVersion: 'TLSv1.3' });
  const wss = new WebSocketServer({ server });
  server.on('error', (err) => wss.emit('error', err));
  server.listen(0, '127.0.0.1');
  return wss;
}

function serve(wss) {
  let smp = null;
  let phases = [];
  const rl = readline.createInterface({ input: process.stdin });
  rl.on('line', (line) => {
    const t = line.trim();
    const sp = t.indexOf(' ');
    const cmd = sp < 0 ? t : t.slice(0, sp);
    const arg = sp < 0 ? '' : t.slice(sp + 1);
    try {
      switch (cmd) {
        case 'stats':
          break;
        case 'gc':
        case 'free':
          fullGC();
          break;
        case 'sample':
          if (smp) smp.stop(); // a new trace replaces the old one
          smp = new Sampler(parseDuration(arg));
          phases = [];
          break;
        case 'phase':
          phases.push({ Name: arg, Time: now() });
          break;
        case 'samples': {
          if (!smp) throw new Error('nodews: not sampling');
          const series = smp.stop();
          smp = null;
          reply({ Series: series, Phases: phases });
          return;
        }
        case 'memclasses':
          reply(memClasses());
          return;
        case 'heapprofile':
          throw new Error('nodews: no pprof heap profile in Node (V8 writes heap snapshots: v8.writeHeapSnapshot)');
        case 'quit':
          if (smp) smp.stop();
          for (const ws of wss.clients) ws.terminate();
          wss.close(() => {
            reply(null);
            process.exit(0);
          });
          return;
        default:
          throw new Error(`nodews: unknown command ${JSON.stringify(cmd)}`);
      }
      reply(stats());
    } catch (e) {
      reply(null, e);
    }
  });
  rl.on('close', () => process.exit(0));
}

main();
