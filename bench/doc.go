// Command bench measures a real Coffer server over TLS against a bare Go net/http TLS
// server (the ceiling), with one load generator in the same run.
//
//	go run ./bench                      # all workloads at c=1,16,64, 5s each
//	go run ./bench -d 10s -rounds 5     # steadier on a busy machine (see -rounds)
//	go run ./bench -d 10s -c 64 -only ceiling,get
//	go run ./bench -h2                  # also every workload over HTTP/2
//	go run ./bench -coffer /tmp/coffer  # a prebuilt binary instead of `go build`
//	go run ./bench -c 16,64 -only sign  # key signing (RS256, ES256) against in-process
//	go run ./bench -c 64 -only set,get -storage postgres://postgres@127.0.0.1:5432/bench
//	go run ./bench -c 64 -only set,get -storage postgres://… -servers 2
//	go run ./bench -c 64 -only get,del -storage postgres://… -compare-embedded -rounds 4
//	go run ./bench -scale 1000000       # start-up, /metrics and sweep at a million (scale.go)
//
// Coffer runs as a subprocess (`coffer server`) on a temporary data directory and a free
// port: the real server, real bbolt, every write fsynced. The ceiling is this program
// re-executed in a hidden mode, so both servers are a separate process from the load
// generator and share the machine's cores with it the same way. The ceiling answers
// {"ok":true} to any request; the load generator sends it the same requests (path,
// query, Authorization header) as the get workload (-tiny-ceiling: a bare GET /).
//
// Workloads, run in this order at each concurrency of -c:
//
//	ceiling  GET to the bare server
//	get      GET /secrets/{random one of -names}
//	set      PUT /secrets/{random name} with a fresh random value of -value-size bytes
//	delrec   a pair: DELETE /secrets/{name} then POST /deletedsecrets/{name}/recover, on
//	         names owned by the worker (name index mod c), so pairs never collide; ops/s
//	         counts pairs
//
// and, only when -only names them (or "sign", which means all four), these:
//
//	del           DELETE /secrets/{name}, each of -del-names secrets (bench-del-000000, …)
//	              created before the measurements, deleted once; ops/s counts deletes
//	get-embedded  get against a second coffer on the embedded bbolt file, started with
//	              -compare-embedded (which adds it when get runs) next to the -storage
//	              one, with the same names; the targets compare the two gets
//
//	sign-rs256    POST /keys/bench-rs256/sign {"alg":"RS256","value":D}: an RSA-2048 key,
//	              its latest version
//	inproc-rs256  the same operation in this process: c goroutines calling
//	              rsa.SignPKCS1v15 on a local RSA-2048 key (the ceiling of sign-rs256)
//	sign-es256    POST /keys/bench-es256/sign {"alg":"ES256","value":D}: a P-256 key
//	inproc-es256  c goroutines calling ecdsa.SignASN1 on a local P-256 key
//
// D is one fixed random 32-byte digest. The two keys are created once, before any
// measurement, and one signature of each is checked against the key's public JWK. The
// in-process workloads use the same worker loop, window and latency count as the HTTP
// ones; they run while the server idles, so they have the machine's cores to themselves
// (their CPU is in the loadgen column) and run once, not again for -h2. The target line
// compares sign-rs256 with inproc-rs256 at c=64 (target ≥ 60%); beside it, signatures
// per busy core (server CPU against the in-process CPU), which other processes on the
// machine disturb less than the ops/s ratio.
//
// Before the secret workloads, -names secrets (bench-00000, …) are created at c=64 with
// -value-size values. Each workload at each concurrency has one HTTP transport (keep-alive,
// MaxIdleConnsPerHost ≥ c; HTTP/1.1 with HTTP/2 off, unless -h2) and c workers, a
// -warmup that opens the connections and is not counted, then -d of counted requests:
// ops/s is the completions inside the window, p50/p99 their latencies. With -rounds N the
// window is cut into N slices that alternate between the workloads, so a change in the
// machine's background load hits them alike. Any non-2xx or transport error is an
// error; the program exits 1 if any occurred (and keeps the server's log).
//
// The CPU columns are cores used during the window, from /proc (Linux): the server
// process, this load generator, and everything else on the machine ("other": other
// people's test runs, kernel threads, interrupts), with the busiest other process (a
// process's reaped children count as its own, so a `go test` shows under go). A
// high "other" means depressed figures. -server-env passes e.g. GOGC=400 to Coffer.
//
// The disk column is what the block device under the data dirs completed during the
// window, from /proc/diskstats (Linux): writes and megabytes a second, and kilobytes
// written per operation ("none" on a tmpfs, which has no device: TMPDIR=/dev/shm runs the
// same workloads with writes that cost nothing). Idle cores and many kilobytes per
// operation mean that the disk, not the processors, bounds a write workload.
//
// -storage postgres://… runs Coffer on PostgreSQL (--storage) instead of the embedded
// bbolt file, with a COFFER_MASTER_KEY made for the run; the database (or the schema its
// search_path names) must be empty, as for a first start. -servers N (N > 1 needs
// -storage) starts N Coffer processes on that database, each with its own data dir and
// port and all with the same key and the same --public-url (a port nothing listens on,
// as behind a load balancer); the load generator spreads the connections over them —
// worker i talks to server i mod N, on a transport of that server's — and the server CPU
// column is the sum of the N processes.
//
// -scale N runs, instead of the workloads, what must not grow with the data (scale.go):
// a data dir is filled with N secrets set then deleted (and 1,000 live ones), written
// straight through the storage, the barrier and the vault service with -prepop-c writers;
// then the time from exec to /healthz with coffer.db evicted from the page cache
// (posix_fadvise DONTNEED) and the server's RSS then, warm and for an empty data dir; how
// long the background check takes after /healthz; a /metrics scrape at N deleted; and a
// sweep of the N secrets once the vault clock is moved past their retention (purges per
// second, and the p50/p99 of a get at c=1 during it against the same without). Each figure
// comes with the "other" CPU of the machine meanwhile. About 4 KB of file per deleted
// secret with 1 KiB values: check the free space for large N.
//
// To see where the server's time goes, pass it -server-args "--debug-pprof-addr
// 127.0.0.1:6060" and fetch /debug/pprof/profile?seconds=9 (and /debug/pprof/allocs)
// during a long (-d 14s) single workload.
//
// This is a main package without tests: `go test ./...` never runs it.
//
// The files, one concern each: main.go runs the steps in order; config.go is the
// command line; servers.go starts the Coffer processes (through
// internal/testenv/cofferproc, the start-up the tests use too); ceiling.go is the bare
// TLS server; loadgen.go drives the workers and records latencies; workloads.go and
// sign.go are the requests; cpu.go reads /proc; report.go prints; scale.go is -scale.
package main
