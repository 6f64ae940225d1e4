package main

// Disk accounting from /proc/diskstats (Linux; nothing elsewhere). A write's rate on the
// embedded store is bounded by the block device under the data dir, not by the CPU, on
// many machines: the disk column shows what the device did during the window (writes
// completed and megabytes written), so that a low write rate with idle cores can be told
// from one that the processors bound. On a tmpfs (no device) the column is "none".

import (
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// diskDevice is the "major:minor" of the block device holding dir, or "" when there is
// none (a tmpfs) or it cannot be told.
func diskDevice(dir string) string {
	fi, err := os.Stat(dir)
	if err != nil {
		return ""
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	dev := uint64(st.Dev)
	major, minor := unix.Major(dev), unix.Minor(dev)
	if major == 0 { // anonymous devices: tmpfs, overlay without a device
		return ""
	}
	return strconv.FormatUint(uint64(major), 10) + ":" + strconv.FormatUint(uint64(minor), 10)
}

// diskSample is a device's counters since boot.
type diskSample struct {
	ok            bool
	writes, bytes uint64 // writes completed, bytes written
}

// sampleDisk reads dev's counters ("major:minor", see diskDevice).
func sampleDisk(dev string) diskSample {
	if dev == "" {
		return diskSample{}
	}
	b, err := os.ReadFile("/proc/diskstats")
	if err != nil {
		return diskSample{}
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		// major minor name, reads (4 fields), then writes completed, merged, sectors written
		if len(f) < 10 || f[0]+":"+f[1] != dev {
			continue
		}
		w, err1 := strconv.ParseUint(f[7], 10, 64)
		s, err2 := strconv.ParseUint(f[9], 10, 64)
		if err1 != nil || err2 != nil {
			return diskSample{}
		}
		return diskSample{ok: true, writes: w, bytes: s * 512} // diskstats sectors are 512 bytes
	}
	return diskSample{}
}

// sub is what the device did between before and s.
func (s diskSample) sub(before diskSample) diskSample {
	if !s.ok || !before.ok {
		return diskSample{}
	}
	return diskSample{ok: true, writes: s.writes - before.writes, bytes: s.bytes - before.bytes}
}
