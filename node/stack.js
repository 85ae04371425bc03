'use strict';
// stack: the real V8 call stack beside Go's fixed-stack model (C22, C24).
//
// BenchmarkStackMaxDepth/model=v8/frame={small,large} is how deep a
// recursion gets before V8 throws "RangeError: Maximum call stack size
// exceeded", measured in a fresh node process per op (as the Go side runs
// GoMaxDepth in a child), at V8's default --stack-size and, with the extra
// level /stack-size=KiB, at twice that. The fixed model of the Go suite
// (model=fixed) says the depth is budget / frame bytes, so twice the
// budget should give twice the depth.
//
// Frames, as close as JavaScript allows to the Go frames:
//   small: one argument, one store to a context variable, the call: the
//          least a recursive JS function can be (Go's Small is a pointer
//          and a counter, 48 bytes on linux/amd64).
//   large: 128 local variables computed from the argument and all used
//          after the recursive call, so each needs a stack slot across it:
//          128 slots of 8 bytes = 1 KiB, Go's Large frame. JavaScript has
//          no stack arrays; locals are what an interpreter or optimized
//          frame keeps on the stack.
// The probe runs the recursion once, in a cold process: the frames are
// Ignition's (the interpreter's), which is what a program's first overflow
// meets. stack-B/frame is the budget over the depth: the bytes V8 really
// spent per level, frame plus overhead.

const { execFile } = require('node:child_process');

const largeLocals = 128;

// makeLarge builds the large-frame function; set(d) records the depth.
function makeLarge(set) {
  let src = 'return function large(d) { set(d); ';
  for (let i = 0; i < largeLocals; i++) src += `let a${i} = d ^ ${i}; `;
  src += 'large(d + 1); return 0';
  for (let i = 0; i < largeLocals; i++) src += ` + a${i}`;
  src += '; }';
  return new Function('set', src)(set);
}

// probe recurses until V8 throws, and returns the deepest frame reached.
// Anything but a RangeError is rethrown.
function probe(frame) {
  let depth = 0;
  const set = (d) => {
    depth = d;
  };
  let f;
  if (frame === 'small') {
    f = function small(d) {
      depth = d;
      small(d + 1);
      return d;
    };
  } else if (frame === 'large') {
    f = makeLarge(set);
  } else {
    throw new Error(`stack: frame ${frame} must be small or large`);
  }
  try {
    f(1);
  } catch (e) {
    if (!(e instanceof RangeError)) throw e;
    return { depth, error: e.message };
  }
  throw new Error('stack: the recursion returned without a RangeError');
}

let defaultKiB;

// defaultStackKiB is V8's default --stack-size, read from `node
// --v8-options` of the node running this file.
function defaultStackKiB() {
  if (defaultKiB === undefined) {
    const out = require('node:child_process').execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8', maxBuffer: 64 << 20 });
    const m = /--stack-size[^\n]*\n\s*type: int\s+default: --stack-size=([0-9]+)/.exec(out);
    if (!m) throw new Error('stack: no --stack-size default in node --v8-options');
    defaultKiB = Number(m[1]);
  }
  return defaultKiB;
}

// maxDepth runs probe in a child node with --stack-size=kib (V8's default
// when kib is 0) and returns {depth, error}.
function maxDepth(frame, kib) {
  const args = kib > 0 ? [`--stack-size=${kib}`] : [];
  args.push(__filename, 'probe', frame);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: 60e3, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`stack: probe ${frame} --stack-size=${kib || 'default'}: ${err.message}\nstderr: ${stderr}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout));
      } catch (e) {
        reject(new Error(`stack: probe output ${JSON.stringify(stdout)}: ${e.message}\nstderr: ${stderr}`));
      }
    });
  });
}

function benchmarks() {
  const out = [];
  for (const twice of [false, true]) {
    for (const frame of ['small', 'large']) {
      const name = `BenchmarkStackMaxDepth/model=v8/frame=${frame}` + (twice ? `/stack-size=${2 * defaultStackKiB()}` : '');
      out.push({
        name,
        fn: async (b) => {
          const kib = twice ? 2 * defaultStackKiB() : defaultStackKiB();
          let depths = 0;
          for (let i = 0; i < b.n; i++) depths += (await maxDepth(frame, twice ? kib : 0)).depth;
          b.reportMetric(0, 'ns/op');
          b.reportMetric(depths / b.n, 'max-depth');
          b.reportMetric((kib * 1024 * b.n) / depths, 'stack-B/frame');
        },
      });
    }
  }
  return out;
}

if (require.main === module && process.argv[2] === 'probe') {
  process.stdout.write(JSON.stringify(probe(process.argv[3])) + '\n');
}

module.exports = { benchmarks, probe, maxDepth, defaultStackKiB, largeLocals };
