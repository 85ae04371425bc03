'use strict'; module.exports = { benchmarks: () => [], workers: {} };
