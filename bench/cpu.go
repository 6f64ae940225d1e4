package main

// CPU accounting from /proc (Linux; zeros elsewhere). The figures of a benchmark on a
// shared machine mean little without knowing who else had the cores: the CPU columns
// split the window's busy cores between the measured server, this load generator and
// everything else, and name the busiest other process. The load average and CPU model
// of the report's header come from /proc too.

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// cpuSample is the CPU time used so far, taken at a window's edges: the window's figures
// are the differences.
type cpuSample struct {
	at                   time.Time
	server, self, system float64 // CPU seconds: the server processes, this process, all busy CPU
	procs                map[int]procTime
}

// procTime is one process of a sample, with its parent, so that the CPU of a process
// that ends within the window can be charged to the one that reaped it.
type procTime struct {
	name string
	ppid int
	cpu  float64 // its own and its reaped children's
}

// sampleCPU samples the servers pids, this process, the machine and every process.
func sampleCPU(pids []int) cpuSample {
	server := 0.0
	for _, pid := range pids {
		server += procCPU(strconv.Itoa(pid))
	}
	return cpuSample{at: time.Now(), server: server, self: procCPU("self"), system: systemBusy(), procs: allProcs()}
}

// allProcs returns the CPU seconds of every process.
func allProcs() map[int]procTime {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	out := make(map[int]procTime, len(ents))
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if i < 0 || j < i {
			continue
		}
		rest := s[j+1:]
		ppid := 0
		if f := strings.Fields(rest); len(f) > 1 {
			ppid, _ = strconv.Atoi(f[1])
		}
		out[pid] = procTime{name: s[i+1 : j], ppid: ppid, cpu: statCPU(rest) + childCPU(rest)}
	}
	return out
}

// addOthers adds to acc the CPU seconds, by name, of every process but those of skip and this
// one between before and s, with the children each reaped meanwhile (see childCPU). A
// process that started in between counts whole; one that ended in between counts under
// the ancestor that reaped it, less what it had used by before.
func (s cpuSample) addOthers(before cpuSample, skip []int, acc map[string]float64) {
	self := os.Getpid()
	delta := map[string]float64{}
	for pid, p := range s.procs {
		if slices.Contains(skip, pid) || pid == self {
			continue
		}
		// A kernel worker's name changes with its work item: same pid, same process.
		if q, ok := before.procs[pid]; ok {
			delta[p.name] += p.cpu - q.cpu
		} else {
			delta[p.name] += p.cpu
		}
	}
	// An ended process's CPU reaches the children's time of its nearest ancestor still
	// alive (through every ended process between them); take off its part before the
	// window, which is what it had at before, reaped children included.
	for pid, q := range before.procs {
		if _, ok := s.procs[pid]; ok {
			continue
		}
		a := q.ppid
		for range 64 {
			if _, ok := s.procs[a]; ok {
				break
			}
			p, ok := before.procs[a]
			if !ok {
				a = 0
				break
			}
			a = p.ppid
		}
		if p, ok := s.procs[a]; ok && a != self && !slices.Contains(skip, a) {
			delta[p.name] -= q.cpu
		}
	}
	for name, d := range delta {
		if d > 0 {
			acc[name] += d
		}
	}
}

// cores returns the cores busy between before and s: the servers, this process, and
// the rest of the machine.
func (s cpuSample) cores(before cpuSample) (server, self, other float64) {
	el := s.at.Sub(before.at).Seconds()
	if el <= 0 || before.at.IsZero() {
		return 0, 0, 0
	}
	server = (s.server - before.server) / el
	self = (s.self - before.self) / el
	other = max(0, (s.system-before.system)/el-server-self)
	return
}

const clkTck = 100 // USER_HZ on Linux

// procCPU returns utime+stime of /proc/PID/stat in seconds.
func procCPU(pid string) float64 {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	return statCPU(s[i+1:])
}

// childCPU returns cutime+cstime in seconds (the CPU of reaped children) from the part
// of /proc/PID/stat after the command name. Short-lived processes (a `go build`'s
// compile and link) rarely live through a whole window, so an other process's figure
// includes it: their CPU then shows under the parent (go) that reaped them.
func childCPU(rest string) float64 {
	f := strings.Fields(rest) // cutime is field 16, cstime 17
	if len(f) < 15 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[13], 64)
	st, _ := strconv.ParseFloat(f[14], 64)
	return (u + st) / clkTck
}

// statCPU returns utime+stime in seconds from the part of /proc/PID/stat after the
// command name.
func statCPU(rest string) float64 {
	f := strings.Fields(rest) // f[0] is field 3 (state); utime is field 14, stime 15
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (u + st) / clkTck
}

// systemBusy returns the non-idle CPU seconds of the whole machine.
func systemBusy() float64 {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 5 || f[0] != "cpu" {
		return 0
	}
	var busy float64
	for i, x := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		v, _ := strconv.ParseFloat(x, 64)
		busy += v
	}
	return busy / clkTck
}

// loadavg returns the 1-, 5- and 15-minute load averages, or n/a.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "n/a"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "n/a"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel returns the CPU's model name, or "".
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}
