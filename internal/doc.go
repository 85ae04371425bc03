// Package internal holds the plumbing that rtlab's experiments share.
//
// Experiment packages (stack, alloc, gc, channels, sched, wsconn) never
// import each other; what two of them need lives here instead, one small
// package per concern:
//
//   - procmem: a process's RSS, VSS and PSS read from /proc, its open
//     descriptors, and how many more fit under its open-files limit.
//   - rtmetrics: runtime/metrics snapshots, deltas and histogram quantiles.
//   - quantile: the one quantile definition (nearest rank, ceil(q·n)), for
//     recorded durations and for histograms.
//   - sampler: a time series of process memory and collector state, with
//     its own CPU cost (gc measures it, wsconn/load traces connections with
//     it).
//   - child: a registered function of the running binary re-executed in a
//     child process with its own environment and a timeout, and the line
//     protocol (Serve, Ctl) of children that stay up and take commands.
//   - benchcheck: reads benchmark output with benchfmt and reports lines
//     benchstat would misread or that lack a required unit.
//   - runinfo: the configuration lines a results file starts with.
//   - testcert: an ECDSA P-256 certificate authority and server
//     certificate for the loopback names, made at run time, and the TLS 1.3
//     server and client configurations of rtlab's wss:// runs; keys stay
//     in memory.
//   - wstest: test helpers of wsconn and the root WebSocket benchmarks
//     (loopback servers, raw peers, frame encoders, the gorilla and coder
//     echo servers); only tests import it.
package internal
