package azapi

import (
	"strconv"
	"strings"
	"time"
)

// latestAPIVersion is named in the error for an unrecognised api-version.
const latestAPIVersion = "2026-04-01"

// validAPIVersion accepts what Azure's SDKs send: 7.N for any N, and any date from
// 2025-01-01 on, each optionally with -preview or -preview.N. Newer versions than we
// know are answered with the newest behaviour we have, so SDK upgrades do not break.
func validAPIVersion(v string) bool {
	if i := strings.Index(v, "-preview"); i >= 0 {
		rest := v[i+len("-preview"):]
		if rest != "" {
			if rest[0] != '.' || !digits(rest[1:]) {
				return false
			}
		}
		v = v[:i]
	}
	if n, ok := strings.CutPrefix(v, "7."); ok {
		return digits(n)
	}
	if len(v) != len("2006-01-02") {
		return false
	}
	t, err := time.Parse(time.DateOnly, v)
	return err == nil && !t.Before(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))
}

func digits(s string) bool {
	if s == "" || len(s) > 9 {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 32)
	return err == nil && !strings.HasPrefix(s, "+")
}
