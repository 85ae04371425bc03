'use strict';
// vmgc gives the experiments a full collection, as Go's runtime.GC, without
// node --expose-gc on the command line: the flag is set at run time and gc
// is taken from a fresh context, where V8 installs it.

const v8 = require('node:v8');
const vm = require('node:vm');

let gc;

// fullGC runs a full, blocking V8 collection.
function fullGC() {
  if (!gc) {
    v8.setFlagsFromString('--expose-gc');
    gc = vm.runInNewContext('gc');
  }
  gc();
}

// heapUsed is V8's used heap in bytes after a full collection.
function heapUsedAfterGC() {
  fullGC();
  return v8.getHeapStatistics().used_heap_size;
}

module.exports = { fullGC, heapUsedAfterGC };
