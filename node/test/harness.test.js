'use strict';
const test = require('node:test');
const assert = require('node:assert');
const harness = require('../harness.js');
const { parseArgs, parseBenchtime, UsageError } = require('../bench.js');

test('matcher splits levels like go test -bench', () => {
  const m = harness.matcher('Chan|GC/impl=atomics');
  assert.ok(m('BenchmarkChanPingPong/impl=atomics'));
  assert.ok(m('BenchmarkChanPingPong'));
  assert.ok(!m('BenchmarkChanPingPong/impl=postmessage'));
  assert.ok(!m('BenchmarkStackMaxDepth/model=v8'));
  assert.deepStrictEqual(harness.splitRegexp('a[/]b/(c/d)/e'), ['a[/]b', '(c/d)', 'e']);
});

test('predictN grows like Go and stays bounded', () => {
  assert.strictEqual(harness.predictN(1e9, 1, 1e6, 1), 100);
  assert.strictEqual(harness.predictN(1e9, 100, 1e9, 100), 120);
  assert.strictEqual(harness.predictN(1e9, 100, 1e12, 100), 101);
  assert.strictEqual(harness.predictN(1e9, 1e9, 1, 1e9), 1e9);
});

test('results print as go test prints them', () => {
  const b = new harness.B(10, { short: true, procs: 2 });
  b.reportMetric(0, 'ns/op');
  b.reportMetric(1234.4, 'max-depth');
  b.reportMetric(0.5, 'a-unit');
  assert.strictEqual(harness.formatResult(b), '      10\t         0.5000 a-unit\t      1234 max-depth');
  assert.strictEqual(harness.prettyPrint(12.3456, 'x'), '        12.35 x');
  assert.throws(() => b.reportMetric(NaN, 'x'));
  assert.throws(() => b.reportMetric(1, 'two words'));
  assert.strictEqual(harness.resultName('BenchmarkX/k=v', 1), 'BenchmarkX/k=v');
  assert.strictEqual(harness.resultName('BenchmarkX/k=v', 4), 'BenchmarkX/k=v-4');
});

// fakeRoot writes files (path -> content) under a new temporary directory
// and returns it.
function fakeRoot(t, files) {
  const fs = require('node:fs');
  const path = require('node:path');
  const root = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rtlab-cgroup-'));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  for (const [p, content] of Object.entries(files)) {
    fs.mkdirSync(path.join(root, path.dirname(p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), content);
  }
  return root;
}

test('cgroupCPULimit reads the limit as Go does', (t) => {
  // v2: the smallest quota on the way up, rounded up.
  const v2 = fakeRoot(t, {
    'proc/self/cgroup': '0::/kube/pod1\n',
    'sys/fs/cgroup/kube/pod1/cpu.max': 'max 100000\n',
    'sys/fs/cgroup/kube/cpu.max': '250000 100000\n',
    'sys/fs/cgroup/cpu.max': '800000 100000\n',
  });
  assert.strictEqual(harness.cgroupCPULimit(v2), 3);
  // Under 2 CPUs counts as 2.
  const half = fakeRoot(t, { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': '50000 100000\n' });
  assert.strictEqual(harness.cgroupCPULimit(half), 2);
  // v1: the cpu controller's quota and period; -1 is no limit.
  const v1 = fakeRoot(t, {
    'proc/self/cgroup': '4:memory:/x\n3:cpu,cpuacct:/docker/abc\n0::/\n',
    'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '400000\n',
    'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
  });
  assert.strictEqual(harness.cgroupCPULimit(v1), 4);
  const none = fakeRoot(t, { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cpu.max': 'max 100000\n' });
  assert.strictEqual(harness.cgroupCPULimit(none), undefined);
  assert.strictEqual(harness.cgroupCPULimit(fakeRoot(t, {})), undefined, 'no /proc');
  // procs takes the limit when it is below the CPUs.
  const cpus = require('node:os').availableParallelism();
  assert.strictEqual(harness.procs({}, half), Math.min(cpus, 2));
  assert.strictEqual(harness.procs({}, none), cpus);
  assert.strictEqual(harness.procs({ GOMAXPROCS: '5' }, half), 5);
});

test('procs follows GOMAXPROCS, else the CPUs and their cgroup limit', () => {
  const cpus = require('node:os').availableParallelism();
  const goDefault = Math.min(cpus, harness.cgroupCPULimit() ?? cpus);
  assert.strictEqual(harness.procs({ GOMAXPROCS: '3' }), 3);
  assert.strictEqual(harness.procs({ GOMAXPROCS: 'x' }), goDefault);
  assert.strictEqual(harness.procs({}), goDefault);
});

test('config lines come first and name the runtime', () => {
  const lines = harness.configLines();
  assert.strictEqual(lines[0], 'runtime: node');
  assert.match(lines[1], /^node: v\d+\./);
  assert.match(lines[2], /^v8: \d+\./);
});

test('flags parse as go test flags and fail naming the flag', () => {
  const o = parseArgs(['-bench', 'X', '-count=3', '--benchtime', '2x', '-short']);
  assert.deepStrictEqual([o.bench, o.count, o.benchtime.n, o.short], ['X', 3, 2, true]);
  assert.strictEqual(parseBenchtime('1.5s').ns, 1.5e9);
  assert.strictEqual(parseBenchtime('1m30s').ns, 90e9);
  for (const [args, flag] of [
    [['-x'], '-x'],
    [['-count', '-1'], '-count'],
    [['-benchtime', '0s'], '-benchtime'],
    [['-bench', '['], '-bench'],
  ]) {
    assert.throws(() => parseArgs(args), (e) => e instanceof UsageError && e.message.includes(flag));
  }
});

test('quantile is nearest-rank', () => {
  assert.strictEqual(harness.quantile([], 0.5), 0);
  assert.strictEqual(harness.quantile([1, 2, 3, 4], 0.5), 2);
  assert.strictEqual(harness.quantile([1, 2, 3, 4], 0.99), 4);
  assert.strictEqual(harness.quantile([1, 2, 3, 4], 0), 1);
});
