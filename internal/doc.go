// Package internal holds the plumbing that rtlab's experiments share.
//
// Experiment packages (stack, alloc, gc, channels, sched, wsconn) never
// import each other; what two of them need lives here instead, one small
// package per concern:
//
//   - procmem: a process's RSS, VSS and PSS read from /proc.
//   - rtmetrics: runtime/metrics snapshots, deltas and histogram quantiles.
//   - quantile: nearest-rank quantiles of recorded durations.
//   - sampler: a time series of process memory and collector state, with
//     its own CPU cost (gc measures it, wsconn traces connections with it).
//   - child: a registered function of the running binary re-executed in a
//     child process with its own environment and a timeout.
//   - benchcheck: reads benchmark output with benchfmt and reports lines
//     benchstat would misread or that lack a required unit.
//   - runinfo: the configuration lines a results file starts with.
package internal
