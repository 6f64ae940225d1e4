package bbolt

import "runtime"

// backgroundNice is the nice value of the thread a background batch runs on (see
// runLowPriority). On a machine whose processors are all busy, the scheduler gives a
// thread at nice 10 about a tenth of the time of one at 0, and preempts it as soon as a
// thread at 0 wakes up. Measured with a sweep of 300,000 purges on two processors and a
// get at c=1 meanwhile, four runs each, interleaved: the get's p99 was 454–545 µs at
// nice 0 and 368–418 µs at 10 (about 200 µs without a sweep); in single runs 19 did no
// better than 10, and 5 worse. 10 rather than 19 so that, on a machine kept busy by other
// work, a background transaction (which holds the write lock) still ends soon.
const backgroundNice = 10

// runLowPriority runs fn on a goroutine locked to an OS thread of its own, lowered to
// backgroundNice, and returns once that goroutine has ended. The sweeper's purges are
// processor work done while requests are served: at the same priority, a request's
// thread woken while the committer purges waits for a processor up to the scheduler's
// time slice (on two processors, that was the tail of a get's latency during a sweep);
// at a lower one it runs at once. The thread is never unlocked, so it ends with the
// goroutine: giving a thread its priority back needs privileges a server need not have.
// Where the priority cannot be lowered, fn runs at the usual one.
func runLowPriority(fn func()) {
	done := make(chan struct{})
	go func() {
		defer close(done) // also when fn ends the goroutine (runtime.Goexit)
		runtime.LockOSThread()
		lowerThreadPriority(backgroundNice)
		fn()
	}()
	<-done
}
