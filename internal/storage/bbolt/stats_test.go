package bbolt

import "testing"

func TestMain(m *testing.M) {
	m.Run()
	c := float64(max(1, Commits.Load()))
	println("commits", Commits.Load(), "avg batch", float64(Batched.Load())/c, "avg commit us", float64(CommitNs.Load())/c/1000)
}
