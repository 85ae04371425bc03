'use strict';
// The benchmark loop of node/bench.js, shaped after Go's testing.B: an
// iteration count that grows until the timed part lasts -benchtime, ns/op
// from process.hrtime.bigint(), custom units through reportMetric, and
// results printed the way `go test -bench` prints them so that benchfmt
// and benchstat read both runtimes' files alike.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const maxN = 1e9;

// B is what a benchmark function gets: the iteration count n, a timer, and
// reportMetric. The harness starts the timer before calling the function
// and stops it after, as Go does.
class B {
  constructor(n, opts) {
    this.n = n;
    this.short = opts.short;
    this.procs = opts.procs;
    this.bytes = 0;
    this.metrics = new Map();
    this.elapsed = 0n;
    this.start = 0n;
    this.running = false;
  }

  startTimer() {
    if (!this.running) {
      this.start = process.hrtime.bigint();
      this.running = true;
    }
  }

  stopTimer() {
    if (this.running) {
      this.elapsed += process.hrtime.bigint() - this.start;
      this.running = false;
    }
  }

  resetTimer() {
    this.elapsed = 0n;
    if (this.running) this.start = process.hrtime.bigint();
  }

  // elapsedNs is the timed part so far, in nanoseconds (a Number).
  elapsedNs() {
    const now = this.running ? process.hrtime.bigint() - this.start : 0n;
    return Number(this.elapsed + now);
  }

  // setBytes records the bytes one op processes, for MB/s.
  setBytes(n) {
    this.bytes = n;
  }

  // reportMetric adds a custom unit to the result, as Go's b.ReportMetric:
  // "ns/op" replaces the timer's figure (0 drops it from the line).
  reportMetric(value, unit) {
    if (!Number.isFinite(value)) {
      throw new Error(`harness: metric ${unit} is ${value}, not a finite number`);
    }
    if (!/^\S+$/.test(unit)) {
      throw new Error(`harness: unit ${JSON.stringify(unit)} must be one word`);
    }
    this.metrics.set(unit, value);
  }
}

// prettyPrint formats a value as Go's testing.prettyPrint does: width and
// precision by magnitude, so columns line up with go test's output.
function prettyPrint(x, unit) {
  const y = Math.abs(x);
  let width;
  let prec;
  if (y === 0 || y >= 999.95) [width, prec] = [10, 0];
  else if (y >= 99.995) [width, prec] = [12, 1];
  else if (y >= 9.9995) [width, prec] = [13, 2];
  else if (y >= 0.99995) [width, prec] = [14, 3];
  else if (y >= 0.099995) [width, prec] = [15, 4];
  else if (y >= 0.0099995) [width, prec] = [16, 5];
  else if (y >= 0.00099995) [width, prec] = [17, 6];
  else [width, prec] = [18, 7];
  return `${x.toFixed(prec).padStart(width)} ${unit}`;
}

// formatResult is the part of a result line after the name, as Go's
// BenchmarkResult.String with MemString: iterations, ns/op (left out when
// 0), MB/s, B/op, then the other units sorted by name.
function formatResult(b) {
  const parts = [String(b.n).padStart(8)];
  const ns = b.metrics.has('ns/op') ? b.metrics.get('ns/op') : b.elapsedNs() / b.n;
  if (ns !== 0) parts.push(prettyPrint(ns, 'ns/op'));
  const secs = b.elapsedNs() / 1e9;
  if (b.bytes > 0 && secs > 0) parts.push(`${((b.bytes * b.n) / 1e6 / secs).toFixed(2).padStart(7)} MB/s`);
  if (b.metrics.has('B/op')) parts.push(`${String(Math.round(b.metrics.get('B/op'))).padStart(8)} B/op`);
  const rest = [...b.metrics.keys()].filter((k) => !['ns/op', 'MB/s', 'B/op'].includes(k)).sort();
  for (const k of rest) parts.push(prettyPrint(b.metrics.get(k), k));
  return parts.join('\t');
}

// predictN is Go's testing.predictN: the count that should take goalNs,
// 20% more, at most 100x the last count and at least one more.
function predictN(goalNs, prevIters, prevNs, last) {
  if (prevNs <= 0) prevNs = 1;
  let n = Math.floor((goalNs * prevIters) / prevNs);
  n += Math.floor(n / 5);
  n = Math.min(n, 100 * last);
  n = Math.max(n, last + 1);
  return Math.min(n, maxN);
}

// runN runs one leaf with b.n = n, timing the whole call.
async function runN(leaf, state, n, opts) {
  const b = new B(n, opts);
  b.startTimer();
  await leaf.fn(b, state);
  b.stopTimer();
  return b;
}

// runLeaf runs one leaf benchmark as go test runs one: n=1, then growing
// counts until the timer reaches benchtime.ns, or exactly benchtime.n
// iterations. leaf.setup (optional) runs once before and its close after.
async function runLeaf(leaf, opts) {
  const state = leaf.setup ? await leaf.setup(opts) : undefined;
  try {
    let b = await runN(leaf, state, 1, opts);
    if (opts.benchtime.n > 0) {
      if (opts.benchtime.n > 1) b = await runN(leaf, state, opts.benchtime.n, opts);
      return b;
    }
    while (b.elapsedNs() < opts.benchtime.ns && b.n < maxN) {
      const n = predictN(opts.benchtime.ns, b.n, b.elapsedNs(), b.n);
      b = await runN(leaf, state, n, opts);
    }
    return b;
  } finally {
    if (state && state.close) await state.close();
  }
}

// splitRegexp splits a -bench pattern into per-level patterns on slashes
// outside brackets and parentheses, as go test does.
function splitRegexp(s) {
  const parts = [];
  let depth = 0;
  let cls = false;
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i];
      continue;
    }
    if (cls) {
      if (c === ']') cls = false;
    } else if (c === '[') cls = true;
    else if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '/' && depth === 0) {
      parts.push(cur);
      cur = '';
      continue;
    }
    cur += c;
  }
  parts.push(cur);
  return parts;
}

// matcher compiles a -bench pattern into a function of a benchmark name
// ("BenchmarkX/k=v/..."): level i of the name must match pattern level i,
// unanchored; levels beyond the pattern match anything. It throws a
// SyntaxError for a bad regexp.
function matcher(pattern) {
  const res = splitRegexp(pattern).map((p) => new RegExp(p));
  return (name) => {
    const levels = name.split('/');
    return res.every((re, i) => i >= levels.length || re.test(levels[i]));
  };
}

// configLines describes this process as Go's benchmark header and rtlab's
// runinfo do: the keys benchstat reads as configuration.
function configLines() {
  const goos = { win32: 'windows', sunos: 'solaris' }[process.platform] || process.platform;
  const goarch = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' }[process.arch] || process.arch;
  const cpus = os.cpus();
  const lines = [
    ['runtime', 'node'],
    ['node', process.version],
    ['v8', process.versions.v8],
    ['goos', goos],
    ['goarch', goarch],
  ];
  if (cpus.length > 0 && cpus[0].model.trim() !== '') lines.push(['cpu', cpus[0].model.trim()]);
  return lines.map(([k, v]) => `${k}: ${v}`);
}

// procs is the -N suffix of result names: GOMAXPROCS from the environment
// when it is a positive integer, as go test reads it, otherwise Go's
// default GOMAXPROCS: os.availableParallelism() (the CPUs this process may
// run on), lowered to the cgroup's CPU limit where one is set
// (cgroupCPULimit). Node 20's libuv does not read the limit, so without
// this a container with a CPU limit would name Node's rows -64 and Go's -2.
function procs(env = process.env, fsRoot = '/') {
  const v = env.GOMAXPROCS;
  if (v !== undefined && /^[1-9][0-9]*$/.test(v)) return Number(v);
  const cpus = os.availableParallelism();
  const limit = cgroupCPULimit(fsRoot);
  return limit === undefined ? cpus : Math.min(cpus, limit);
}

// cgroupCPULimit is the CPU limit of this process's cgroup the way the Go
// runtime reads it for GOMAXPROCS (runtime/cgroup_linux.go): the smallest
// quota/period on the path from the process's cgroup up to the root,
// rounded up, and at least 2; undefined where there is none or it cannot be
// read. cgroup v2 reads cpu.max ("max 100000" or "50000 100000"), v1
// cpu.cfs_quota_us and cpu.cfs_period_us of the cpu controller. fsRoot is
// where /proc and /sys are found (a test passes a directory of its own).
function cgroupCPULimit(fsRoot = '/') {
  const read = (p) => {
    try {
      return fs.readFileSync(path.join(fsRoot, p), 'utf8').trim();
    } catch {
      return undefined;
    }
  };
  const self = read('proc/self/cgroup');
  if (self === undefined) return undefined;
  // "0::/a/b" is the v2 hierarchy; "4:cpu,cpuacct:/a/b" a v1 controller.
  let dir;
  let quota;
  for (const line of self.split('\n')) {
    const [id, ctrls, cg] = line.split(/:(.*?):/);
    if (cg === undefined) continue;
    if (id === '0' && ctrls === '') {
      dir ??= { base: 'sys/fs/cgroup', cg, v2: true };
    } else if (ctrls.split(',').includes('cpu')) {
      dir = { base: path.join('sys/fs/cgroup', ctrls), cg, v2: false };
    }
  }
  if (dir === undefined) return undefined;
  for (let cg = dir.cg; ; cg = path.dirname(cg)) {
    const at = path.join(dir.base, cg);
    let q;
    let p;
    if (dir.v2) {
      [q, p] = (read(path.join(at, 'cpu.max')) ?? '').split(' ');
    } else {
      [q, p] = [read(path.join(at, 'cpu.cfs_quota_us')), read(path.join(at, 'cpu.cfs_period_us'))];
    }
    const qn = Number(q);
    const pn = Number(p);
    if (q !== undefined && q !== 'max' && qn > 0 && pn > 0) quota = Math.min(quota ?? Infinity, qn / pn);
    if (cg === '/' || cg === '.' || cg === '') break;
  }
  return quota === undefined ? undefined : Math.max(2, Math.ceil(quota));
}

// resultName is name with Go's -GOMAXPROCS suffix (none when it is 1).
function resultName(name, n) {
  return n === 1 ? name : `${name}-${n}`;
}

// quantile is the nearest-rank q-quantile of sorted numbers, by the
// definition of rtlab's internal/quantile: the smallest value with at
// least ceil(q*n) values at or below it; 0 for no values.
function quantile(sorted, q) {
  if (sorted.length === 0) return 0;
  const i = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(Math.max(i, 0), sorted.length - 1)];
}

// sumRuns awaits run() n times and returns the sum of each numeric field
// of the results: the totals a benchmark reports per op or per item.
async function sumRuns(n, run) {
  const sum = {};
  for (let i = 0; i < n; i++) {
    const r = await run();
    for (const [k, v] of Object.entries(r)) if (typeof v === 'number') sum[k] = (sum[k] || 0) + v;
  }
  return sum;
}

module.exports = { B, quantile, sumRuns, formatResult, prettyPrint, predictN, runLeaf, splitRegexp, matcher, configLines, procs, cgroupCPULimit, resultName };
