package vault

import (
	"testing"
	"time"
)

// The sweeper rests only while requests come in (and busyWithin after), as long as
// keeps it to sweepShare of a processor, its commits counted as work, but never so long
// that it falls below sweepFloor actions a second.
func TestPacerRestsWhileRequestsAreServed(t *testing.T) {
	var p pacer
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := time.Millisecond
	if d := p.restFor(t0, 1000, 12*ms); d != 0 {
		t.Fatalf("no busy function: rest %v, want none", d)
	}
	busy := false
	p.setBusy(func() bool { return busy })
	if d := p.restFor(t0, 1000, 12*ms); d != 0 {
		t.Fatalf("never busy: rest %v, want none", d)
	}
	busy = true
	if d, want := p.restFor(t0, 1000, 12*ms), time.Duration(float64(12*ms)/sweepShare)-12*ms; d != want {
		t.Fatalf("busy: rest %v, want %v", d, want)
	}
	// 300 actions in 12 ms with the commit: resting 12 ms would keep to the share, but 3 ms
	// at most keeps to the floor of 20,000 a second.
	if d, want := p.restFor(t0, 300, 12*ms), time.Duration(float64(300)/sweepFloor*float64(time.Second))-12*ms; d != want || d <= 0 || d >= time.Duration(float64(12*ms)/sweepShare)-12*ms {
		t.Fatalf("busy, slow actions: rest %v, want %v (the floor's)", d, want)
	}
	if d := p.restFor(t0, 1000, time.Second); d != 0 {
		t.Fatalf("busy, after a transaction that took long (below the floor): rest %v, want none", d)
	}
	busy = false
	if d := p.restFor(t0.Add(busyWithin), 1000, 12*ms); d == 0 {
		t.Fatal("busy within busyWithin: no rest")
	}
	if d := p.restFor(t0.Add(busyWithin+ms), 1000, 12*ms); d != 0 {
		t.Fatalf("idle for longer than busyWithin: rest %v, want none", d)
	}
}

// The sweeper yields by sleeping (so that the scheduler polls the network) only while
// requests were seen within busyWithin; otherwise, and before any, it only calls Gosched.
func TestPacerYieldsBySleepingOnlyWhileBusy(t *testing.T) {
	var p pacer
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if p.recentlyBusy(t0) {
		t.Fatal("never busy: recently busy")
	}
	p.setBusy(func() bool { return true })
	p.restFor(t0, 1000, time.Millisecond) // a transaction ends while requests come in
	if !p.recentlyBusy(t0.Add(busyWithin)) {
		t.Fatal("busy within busyWithin: not recently busy")
	}
	if p.recentlyBusy(t0.Add(busyWithin + time.Millisecond)) {
		t.Fatal("idle for longer than busyWithin: still recently busy")
	}
}
