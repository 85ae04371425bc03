'use strict';
// worker.js is the entry of every worker_thread the experiments start: it
// loads the topic file named in workerData and runs one of its workers.
// Only the topic files listed here can be loaded.

const { workerData } = require('node:worker_threads');

const allowed = new Set(['channels', 'sched']);
if (!allowed.has(workerData.topic)) throw new Error(`worker.js: unknown topic ${workerData.topic}`);
const topic = require(`./${workerData.topic}.js`);
const run = topic.workers[workerData.role];
if (typeof run !== 'function') throw new Error(`worker.js: topic ${workerData.topic} has no worker ${workerData.role}`);
run(workerData);
