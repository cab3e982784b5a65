package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/prism-es/prism/e2e/stack"
)

// Process names of the CPU table: the storage emulator, Redis and each
// service (domain-service sums its replicas).
const (
	procAzurite = "azurite"
	procRedis   = "redis-server"
)

// cpuSample is the CPU time (seconds, user + system) each process of the
// stack has used so far.
type cpuSample map[string]float64

// sampleCPU reads every process's CPU time from /proc: the services by pid,
// Azurite and Redis by process group (each leads its own), so a child they
// spawned counts too.
func sampleCPU(st *stack.Stack) cpuSample {
	out := cpuSample{}
	for _, name := range []string{"prism-api", "readmodel-updater", "stream-service"} {
		if p := st.Process(name); p != nil {
			out[name] = cpuSeconds(p.Pid())
		}
	}
	for _, p := range st.Replicas() {
		out["domain-service"] += cpuSeconds(p.Pid())
	}
	azurites, redis := st.Env.ServerPids()
	groups := map[int]string{redis: procRedis}
	for _, pid := range azurites {
		groups[pid] = procAzurite
	}
	for pid, v := range groupCPUSeconds(groups) {
		out[groups[pid]] += v
	}
	return out
}

// groupCPUSeconds sums the CPU time of every process in each process group
// named (by its leader's pid).
func groupCPUSeconds(groups map[int]string) map[int]float64 {
	out := map[int]float64{}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return out
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		f := statFields(pid)
		if len(f) < 13 {
			continue
		}
		pgrp, _ := strconv.Atoi(f[2])
		if _, ok := groups[pgrp]; ok {
			out[pgrp] += statCPU(f)
		}
	}
	return out
}

// CPUPerCommand is CPU milliseconds per command by process, from /proc.
type CPUPerCommand map[string]float64

// cpuPerCommand is (after − before) per command, in ms.
func cpuPerCommand(before, after cpuSample, commands int) CPUPerCommand {
	if commands == 0 {
		return nil
	}
	out := CPUPerCommand{}
	for k, v := range after {
		out[k] = (v - before[k]) * 1000 / float64(commands)
	}
	return out
}

// Prism is Prism's own CPU per command: every process but the storage
// emulator (the services and Redis).
func (c CPUPerCommand) Prism() float64 {
	t := 0.0
	for k, v := range c {
		if k != procAzurite {
			t += v
		}
	}
	return t
}

// String lists the processes, Azurite first, then Prism's own total.
func (c CPUPerCommand) String() string {
	if len(c) == 0 {
		return "not measured"
	}
	names := make([]string, 0, len(c))
	for k := range c {
		if k != procAzurite {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	parts := []string{fmt.Sprintf("%s %.2f", procAzurite, c[procAzurite])}
	for _, k := range names {
		parts = append(parts, fmt.Sprintf("%s %.2f", k, c[k]))
	}
	return fmt.Sprintf("%s ms; Prism's own %.2f ms", strings.Join(parts, ", "), c.Prism())
}
