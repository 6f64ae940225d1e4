//go:build !linux

package bbolt

import "testing"

const perThreadPriority = false

func threadNice(*testing.T) int { return 0 }
