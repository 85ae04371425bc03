#!/usr/bin/env node
'use strict';
// node/bench.js runs the Node.js half of rtlab's experiments and prints
// Go benchmark format, so that benchstat reads it beside `go test -bench`.
//
//   node node/bench.js [-bench REGEXP] [-count N] [-benchtime Ns|Nx] [-short]
//
// The flags mean what they mean to go test. See node/README.md.

const harness = require('./harness.js');

// topics are the experiment files, in the order their benchmarks run.
const topics = ['stack', 'alloc', 'gc', 'channels', 'sched', 'wsframe'];

const usage = `usage: node node/bench.js [-bench REGEXP] [-count N] [-benchtime Ns|Nx] [-short]

  -bench REGEXP     run only the benchmarks matching REGEXP, per /-separated level (default ".")
  -count N          run each benchmark N times (default 1)
  -benchtime D      run each benchmark for duration D (1s, 500ms) or exactly Nx iterations (default 1s)
  -short            shrink the experiments, as go test -short does
  -list REGEXP      list the benchmarks matching REGEXP and exit
`;

class UsageError extends Error {}

const unitNs = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

// parseBenchtime reads -benchtime as go test does: Nx, or a Go duration.
function parseBenchtime(v) {
  const x = /^([0-9]+)x$/.exec(v);
  if (x) {
    const n = Number(x[1]);
    if (n < 1) throw new UsageError(`invalid value "${v}" for flag -benchtime: invalid count`);
    return { n, ns: 0 };
  }
  const re = /([0-9]*\.?[0-9]*)(ns|us|µs|μs|ms|s|m|h)/y;
  let ns = 0;
  let i = 0;
  while (i < v.length) {
    re.lastIndex = i;
    const m = re.exec(v);
    if (!m || m[1] === '' || m[1] === '.') break;
    ns += Number(m[1]) * unitNs[m[2]];
    i = re.lastIndex;
  }
  if (v === '' || i !== v.length || !(ns > 0)) {
    throw new UsageError(`invalid value "${v}" for flag -benchtime: want a positive duration (1s, 500ms) or a count (100x)`);
  }
  return { n: 0, ns };
}

// parseArgs reads the flags the way Go's flag package does: -name value,
// -name=value, one or two dashes, booleans without a value. It throws a
// UsageError naming the flag.
function parseArgs(argv) {
  const opts = { bench: '.', count: 1, benchtime: { n: 0, ns: 1e9 }, short: false, list: null, help: false };
  const valued = new Set(['bench', 'count', 'benchtime', 'list']);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!m || arg === '-' || arg === '--') throw new UsageError(`unexpected argument "${arg}"`);
    const name = m[1];
    let value = m[2];
    if (name === 'h' || name === 'help') {
      opts.help = true;
      continue;
    }
    if (name === 'short') {
      if (value === undefined || value === 'true' || value === '1') opts.short = true;
      else if (value === 'false' || value === '0') opts.short = false;
      else throw new UsageError(`invalid boolean value "${value}" for -short`);
      continue;
    }
    if (!valued.has(name)) throw new UsageError(`flag provided but not defined: -${name}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new UsageError(`flag needs an argument: -${name}`);
      value = argv[++i];
    }
    switch (name) {
      case 'bench':
      case 'list':
        try {
          harness.matcher(value);
        } catch (e) {
          throw new UsageError(`invalid value "${value}" for flag -${name}: ${e.message}`);
        }
        opts[name] = value;
        break;
      case 'count':
        if (!/^[1-9][0-9]*$/.test(value)) throw new UsageError(`invalid value "${value}" for flag -count: want a positive integer`);
        opts.count = Number(value);
        break;
      case 'benchtime':
        opts.benchtime = parseBenchtime(value);
        break;
    }
  }
  return opts;
}

// leaves collects every topic's benchmarks: {name, fn, setup?}.
function leaves(opts) {
  const all = [];
  for (const t of topics) all.push(...require(`./${t}.js`).benchmarks(opts));
  return all;
}

async function main(argv) {
  let opts;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write(`bench.js: ${e.message}\n${usage}`);
    return 2;
  }
  if (opts.help) {
    process.stderr.write(usage);
    return 0;
  }
  opts.procs = harness.procs();
  if (opts.list !== null) {
    const match = harness.matcher(opts.list);
    for (const l of leaves(opts)) if (match(l.name)) process.stdout.write(l.name + '\n');
    return 0;
  }
  const match = harness.matcher(opts.bench);
  const selected = leaves(opts).filter((l) => match(l.name));
  for (const line of harness.configLines()) process.stdout.write(line + '\n');
  const width = Math.max(0, ...selected.map((l) => harness.resultName(l.name, opts.procs).length));
  for (const leaf of selected) {
    for (let i = 0; i < opts.count; i++) {
      const b = await harness.runLeaf(leaf, opts);
      process.stdout.write(`${harness.resultName(leaf.name, opts.procs).padEnd(width)}\t${harness.formatResult(b)}\n`);
    }
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`bench.js: ${err && err.stack ? err.stack : err}\n`);
      process.exitCode = 1;
    },
  );
}

module.exports = { parseArgs, parseBenchtime, UsageError, topics };
