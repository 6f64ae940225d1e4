package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/security/keyvault/azsecrets"
	"github.com/google/uuid"

	"github.com/coffer/coffer/internal/identity"
	"github.com/coffer/coffer/internal/ledger"
	"github.com/coffer/coffer/internal/testenv"
)

// TestMultiProcessLifecycleAndKill runs two `coffer server` processes (the real binary)
// on one PostgreSQL schema, behind one public URL, with the same COFFER_MASTER_KEY, each
// with its own data dir and its own sweeper loop (every 5 s, as in production).
//
// Part 1: clients through both servers set, delete, recover, purge and read a few names
// concurrently, each recording every answer, while the vault clock is shifted past the
// retention three times (through A; B follows) and the sweepers purge what fell due.
// Afterwards, from the deletion ledger (GET /admin/ledger, which the change writes in its
// own transaction) and the final state:
//   - every name's history is a legal sequence: a deletion ends at most once (recover,
//     purge, or automatic purge), never an automatic purge of a recovered object or one
//     before its scheduledPurgeDate, and an automatic purge ends the deletion it names;
//   - every acknowledged delete, recover and purge is in the ledger once, under its
//     request id, and no refused one is; the ledger's order agrees with the clients'
//     real-time order;
//   - the sweepers' own count (their "scheduler carried out due actions … count=N" log
//     lines, summed over both processes) equals the automatic purges the ledger shows
//     for the sweeper: nothing purged twice;
//   - every acknowledged set is present with its value, or lawfully gone: a purge was
//     acknowledged, or a deletion was acknowledged and then purged automatically after
//     its retention, no earlier than the set began; no version is present that no
//     acknowledged set created.
//
// Part 2: clients set through both servers; B is SIGKILLed mid-load. Every request routed
// to A succeeds, during and after the kill, and every set acknowledged by either server
// reads back through A; B restarts on its data dir and serves again.
func TestMultiProcessLifecycleAndKill(t *testing.T) {
	c := newMPCluster(t)
	a := c.start(t, "A", filepath.Join(t.TempDir(), "a"))
	b := c.start(t, "B", filepath.Join(t.TempDir(), "b"))
	nodes := []*mpNode{a, b}
	for _, n := range nodes { // the key vault challenge and a token, outside the timings
		if op := n.do(t.Context(), "get", "warm-up", ""); op.status != 404 {
			t.Fatalf("%s: warm-up get: %v", n.name, op.err)
		}
	}

	t.Run("lifecycle", func(t *testing.T) { mpLifecycle(t, c, a, b) })
	if t.Failed() {
		return
	}
	t.Run("kill", func(t *testing.T) { mpKill(t, c, a, b) })
}

func mpLifecycle(t *testing.T, c *mpCluster, a, b *mpNode) {
	ctx := t.Context()
	nodes := []*mpNode{a, b}
	led := &mpLedger{node: a}
	fails := &mpFailures{}

	churn := make([]string, 12)
	var setup []mpOp // sets, deletes of the idle names (and the churn names' first sets)
	for i := range churn {
		churn[i] = fmt.Sprintf("churn-%02d", i)
		op := nodes[i%2].do(ctx, "set", churn[i], mpValue(churn[i], "setup", 0, i))
		if op.status != 0 {
			t.Fatalf("set %s: %v", churn[i], op.err)
		}
		setup = append(setup, op)
	}

	// The workload: 6 clients per server, until stop.
	stop := make(chan struct{})
	var done atomic.Int64 // requests answered so far
	wait := mpClients(nodes, 6, stop, func(n *mpNode, w, i int, rng *mrand.Rand) (mpOp, bool) {
		name := churn[rng.IntN(len(churn))]
		var kind string
		switch r := rng.IntN(100); {
		case r < 30:
			kind = "set"
		case r < 55:
			kind = "delete"
		case r < 80:
			kind = "recover"
		case r < 88:
			kind = "purge"
		default:
			kind = "get"
		}
		op := n.do(ctx, kind, name, mpValue(name, n.name, w, i))
		done.Add(1)
		switch {
		case op.status == 0:
			if kind == "get" && !strings.HasPrefix(op.value, name+"|") {
				fails.add("get %s through %s read %q, not a value of that name", name, n.name, op.value)
			}
		case op.status == 404, op.status == 409 && kind != "get":
			// not in the state this operation needs (any more)
		default:
			fails.add("%s %s through %s: unexpected answer %d: %v", kind, name, n.name, op.status, op.err)
		}
		return op, true
	})
	workloadStart := time.Now()

	// Three rounds: a few idle names deleted (nobody touches them again), then the clock
	// moves 91 days on, past the 90-day retention of everything deleted so far; the round
	// ends when the sweepers have purged the idle names.
	var shift time.Duration
	for round := range 3 {
		var idle []string
		for i := range 8 {
			name := fmt.Sprintf("idle-%d-%02d", round, i)
			idle = append(idle, name)
			set := nodes[i%2].do(ctx, "set", name, mpValue(name, "setup", round, i))
			del := nodes[(i+1)%2].do(ctx, "delete", name, "")
			if set.status != 0 || del.status != 0 {
				t.Fatalf("%s: set %v, delete %v", name, set.err, del.err)
			}
			setup = append(setup, set, del)
		}
		from := done.Load() // the workload runs a while before the shift
		pollUntil(t, 60*time.Second, "100 more requests of the workload", func() bool { return done.Load() >= from+100 })
		shift += 91 * 24 * time.Hour
		c.shiftTime(t, a, b, 91*24*time.Hour, shift)
		var waiting []string
		took := pollUntil(t, 60*time.Second, fmt.Sprintf("round %d: the sweepers purge the idle names", round), func() bool {
			led.fetch(t)
			waiting = waiting[:0]
			for _, n := range idle {
				if es := led.byName[n]; len(es) == 0 || es[len(es)-1].Action != "auto-purge" {
					waiting = append(waiting, n+": "+historyOf(es))
				}
			}
			return len(waiting) == 0
		}, func() string { return "in the ledger: " + strings.Join(waiting, "; ") })
		t.Logf("round %d: clock +%s; idle names swept %s after the shift", round, shift, took.Round(time.Millisecond))
	}
	close(stop)
	ops := wait()
	elapsed := time.Since(workloadStart)

	// Once more past the retention, with no client left: whatever is still deleted falls
	// due, and only the sweepers can purge it.
	shift += 91 * 24 * time.Hour
	c.shiftTime(t, a, b, 91*24*time.Hour, shift)
	var waiting []string
	pollUntil(t, 60*time.Second, "the sweepers purge every remaining deleted secret", func() bool {
		led.fetch(t)
		waiting = waiting[:0]
		for name, es := range led.byName {
			if es[len(es)-1].Action == "delete" {
				waiting = append(waiting, name+": "+historyOf(es))
			}
		}
		return len(waiting) == 0
	}, func() string { return "still deleted in the ledger: " + strings.Join(waiting, "; ") })
	// The sweepers log their count once a sweep is over, just after its last commit.
	sweeperPurges := func() int {
		n := 0
		for _, e := range led.entries {
			if e.Action == "auto-purge" && e.Principal == "sweeper" && e.Note == "" {
				n++
			}
		}
		return n
	}
	var logged map[string]int
	pollUntil(t, 20*time.Second, "the sweepers' logged counts reach the ledger's automatic purges", func() bool {
		led.fetch(t)
		logged = map[string]int{a.name: sweepCount(a.proc.Output()), b.name: sweepCount(b.proc.Output())}
		return logged[a.name]+logged[b.name] >= sweeperPurges()
	}, func() string {
		return fmt.Sprintf("logged %v, the ledger holds %d automatic purges by the sweeper", logged, sweeperPurges())
	})

	var all []mpOp
	all = append(all, setup...)
	for _, o := range ops {
		all = append(all, o...)
	}
	summary := map[string]int{}
	for _, o := range all {
		res := "ok"
		if o.status != 0 {
			res = strconv.Itoa(o.status)
		}
		summary[o.kind+" "+res]++
	}
	actions := map[string]int{}
	for _, e := range led.entries {
		k := e.Action
		if e.Note != "" {
			k += " (name reuse)"
		}
		actions[k]++
	}
	t.Logf("workload: %d requests in %s through both servers: %v", len(all), elapsed.Round(time.Millisecond), summary)
	t.Logf("ledger: %d secret entries: %v; sweeper log counts: %v", len(led.entries), actions, logged)
	fails.report(t, "workload")

	// Nothing purged twice: what the sweepers say they purged is what the ledger holds.
	if got, want := logged[a.name]+logged[b.name], sweeperPurges(); got != want {
		t.Errorf("the sweepers logged %d purges (%v), the ledger holds %d automatic purges by the sweeper: some purge was counted twice or not recorded", got, logged, want)
	}
	for _, n := range nodes {
		if k := strings.Count(n.proc.Output(), `msg="scheduler failed"`); k > 0 {
			t.Errorf("%s: the sweeper failed %d times (see its log)", n.name, k)
		}
	}
	// Reads return only what an acknowledged set wrote.
	written := map[string]string{}
	for _, o := range all {
		if o.kind == "set" && o.status == 0 {
			written[o.name+"/"+o.version] = o.value
		}
	}
	for _, o := range all {
		if o.kind == "get" && o.status == 0 {
			if v, ok := written[o.name+"/"+o.version]; !ok || v != o.value {
				fails.add("get %s through %s read version %s = %q, which no acknowledged set wrote", o.name, o.node, o.version, o.value)
			}
		}
	}
	fails.report(t, "reads")

	checkLedgerHistory(t, led, all)
	checkVersions(t, a, led, all, append(slices.Clone(churn), idleNames()...))
}

// idleNames are the names the three rounds delete and leave to the sweepers.
func idleNames() []string {
	var out []string
	for round := range 3 {
		for i := range 8 {
			out = append(out, fmt.Sprintf("idle-%d-%02d", round, i))
		}
	}
	return out
}

// checkLedgerHistory checks the ledger against the rules of the lifecycle and the
// clients' records (see TestMultiProcessLifecycleAndKill).
func checkLedgerHistory(t *testing.T, led *mpLedger, all []mpOp) {
	t.Helper()
	fails := &mpFailures{}
	byReq := map[string]*mpOp{}
	for i := range all {
		byReq[all[i].reqID] = &all[i]
	}
	matched := map[string]int64{} // request id → ledger seq

	// Each name's history, in ledger order.
	for name, es := range led.byName {
		var del *ledger.Entry // the deletion in force, if any
		for i := range es {
			e := &es[i]
			switch e.Action {
			case "delete":
				if del != nil {
					fails.add("%s: seq %d deletes it again while deletion seq %d is in force", name, e.Seq, del.Seq)
				}
				del = e
			case "recover", "purge", "auto-purge":
				if del == nil {
					what := map[string]string{"recover": "a recover", "purge": "a purge", "auto-purge": "an automatic purge"}[e.Action]
					fails.add("%s: seq %d is %s of an object that is not deleted (ended twice, or a recovered object purged)", name, e.Seq, what)
					break
				}
				if !e.DeletedDate.Equal(del.DeletedDate) || !e.ScheduledPurgeDate.Equal(del.ScheduledPurgeDate) {
					fails.add("%s: seq %d (%s) names the deletion of %s (purge %s), but the deletion in force is seq %d of %s (purge %s)",
						name, e.Seq, e.Action, e.DeletedDate, e.ScheduledPurgeDate, del.Seq, del.DeletedDate, del.ScheduledPurgeDate)
				}
				if e.Action == "auto-purge" && e.Time.Before(e.ScheduledPurgeDate) {
					fails.add("%s: seq %d purged automatically at %s, before its scheduledPurgeDate %s", name, e.Seq, e.Time, e.ScheduledPurgeDate)
				}
				if e.Action == "recover" && !e.Time.Before(del.ScheduledPurgeDate) {
					fails.add("%s: seq %d recovered at %s, after the retention ended (%s)", name, e.Seq, e.Time, del.ScheduledPurgeDate)
				}
				del = nil
			default:
				fails.add("%s: seq %d has an unknown action %q", name, e.Seq, e.Action)
			}
			if e.RequestID == "" {
				if e.Action != "auto-purge" {
					fails.add("%s: seq %d (%s) names no request", name, e.Seq, e.Action)
				}
				continue
			}
			op := byReq[e.RequestID]
			switch {
			case op == nil:
				fails.add("%s: seq %d (%s) names request %s, which no client sent", name, e.Seq, e.Action, e.RequestID)
			case op.kind != e.Action || op.name != name:
				fails.add("%s: seq %d (%s) names request %s, which was %s %s", name, e.Seq, e.Action, e.RequestID, op.kind, op.name)
			case op.status != 0:
				fails.add("%s: seq %d records %s request %s, which the client saw refused (%d)", name, e.Seq, e.Action, e.RequestID, op.status)
			}
			if prev, dup := matched[e.RequestID]; dup {
				fails.add("%s: request %s is in the ledger twice (seq %d and %d)", name, e.RequestID, prev, e.Seq)
			}
			matched[e.RequestID] = e.Seq
		}
		if del != nil {
			fails.add("%s: still deleted (seq %d) after a shift past its retention and the sweeps", name, del.Seq)
		}
	}
	// Every acknowledged change is in the ledger.
	for _, op := range all {
		if op.status == 0 && (op.kind == "delete" || op.kind == "recover" || op.kind == "purge") {
			if _, ok := matched[op.reqID]; !ok {
				fails.add("%s %s through %s was acknowledged but is not in the ledger", op.kind, op.name, op.node)
			}
		}
	}
	// The ledger's order agrees with real time: a change acknowledged before another
	// began comes first.
	type seqOp struct {
		seq int64
		op  *mpOp
	}
	var order []seqOp
	for id, seq := range matched {
		if op := byReq[id]; op != nil {
			order = append(order, seqOp{seq, op})
		}
	}
	slices.SortFunc(order, func(x, y seqOp) int { return int(x.seq - y.seq) })
	var latest *seqOp // the op of a smaller seq that started last
	for i := range order {
		so := &order[i]
		if latest != nil && so.op.end.Before(latest.op.start) {
			fails.add("ledger order contradicts real time: %s %s (seq %d) was acknowledged before %s %s (seq %d) was sent",
				so.op.kind, so.op.name, so.seq, latest.op.kind, latest.op.name, latest.seq)
		}
		if latest == nil || so.op.start.After(latest.op.start) {
			latest = so
		}
	}
	t.Logf("ledger: %d entries matched to client requests by request id", len(matched))
	fails.report(t, "ledger")
}

// checkVersions checks that every acknowledged set of names is present with its value or
// was lawfully purged, and that nothing else is present.
func checkVersions(t *testing.T, n *mpNode, led *mpLedger, all []mpOp, names []string) {
	t.Helper()
	ctx := t.Context()
	fails := &mpFailures{}
	byReq := map[string]*mpOp{}
	for i := range all {
		byReq[all[i].reqID] = &all[i]
	}
	// The latest moment a purge of each name can be ordered after: a purge's
	// acknowledgement, or for an automatic purge that of the deletion it ended.
	evidence := map[string]time.Time{}
	for name, es := range led.byName {
		var del *ledger.Entry
		for i := range es {
			e := &es[i]
			var at time.Time
			switch e.Action {
			case "delete":
				del = e
				continue
			case "purge":
				if op := byReq[e.RequestID]; op != nil {
					at = op.end
				}
			case "auto-purge":
				if del != nil {
					if op := byReq[del.RequestID]; op != nil {
						at = op.end
					}
				}
			default:
				continue
			}
			if at.After(evidence[name]) {
				evidence[name] = at
			}
		}
	}

	present := map[string]map[string]bool{} // name → versions
	for _, name := range names {
		present[name] = map[string]bool{}
		p := n.secrets.NewListSecretPropertiesVersionsPager(name, nil)
		for p.More() {
			page, err := p.NextPage(ctx)
			if statusOf(err) == 404 {
				break
			}
			if err != nil {
				t.Fatalf("list versions of %s: %v", name, err)
			}
			for _, s := range page.Value {
				present[name][s.ID.Version()] = true
			}
		}
	}

	acked := map[string]bool{}
	var check []mpOp
	lawful := 0
	for _, op := range all {
		if op.kind != "set" || op.status != 0 || present[op.name] == nil {
			continue
		}
		acked[op.name+"/"+op.version] = true
		if present[op.name][op.version] {
			check = append(check, op)
			continue
		}
		if !op.start.After(evidence[op.name]) {
			lawful++
			continue
		}
		fails.add("set %s through %s (version %s, acknowledged) is gone, and no purge of %s was acknowledged, nor a deletion purged automatically, after the set began",
			op.name, op.node, op.version, op.name)
	}
	for name, vs := range present {
		for v := range vs {
			if !acked[name+"/"+v] {
				fails.add("%s/%s is present, but no acknowledged set created it", name, v)
			}
		}
	}
	// The present ones hold their values.
	readBack(ctx, n, check, fails)
	t.Logf("acknowledged sets: %d present with their values, %d lawfully purged", len(check), lawful)
	fails.report(t, "versions")
}

func mpKill(t *testing.T, c *mpCluster, a, b *mpNode) {
	ctx := t.Context()
	fails := &mpFailures{}
	names := make([]string, 24)
	for i := range names {
		names[i] = fmt.Sprintf("kill-%02d", i)
	}
	var ackedB, afterKillA atomic.Int64
	var killedAt atomic.Pointer[time.Time]
	stop := make(chan struct{})
	wait := mpClients([]*mpNode{a, b}, 6, stop, func(n *mpNode, w, i int, rng *mrand.Rand) (mpOp, bool) {
		name := names[rng.IntN(len(names))]
		kind := "set"
		if i%4 == 3 {
			kind = "get"
		}
		op := n.do(ctx, kind, name, mpValue(name, n.name, w, i))
		switch {
		case n == b && op.status != 0:
			if op.status == 404 && kind == "get" {
				return op, true
			}
			if killedAt.Load() == nil {
				fails.add("%s %s through B before the kill: %d %v", kind, name, op.status, op.err)
			}
			return op, false // B is gone: its clients stop
		case op.status == 404 && kind == "get":
		case op.status != 0:
			fails.add("%s %s through A (the survivor), sent %s the kill: %d %v", kind, name, whenKill(op.start, killedAt.Load()), op.status, op.err)
		case kind == "get" && !strings.HasPrefix(op.value, name+"|"):
			fails.add("get %s through %s read %q", name, n.name, op.value)
		}
		if op.status == 0 && n == b {
			ackedB.Add(1)
		}
		if op.status == 0 && n == a && killedAt.Load() != nil && op.start.After(*killedAt.Load()) {
			afterKillA.Add(1)
		}
		return op, true
	})
	pollUntil(t, 60*time.Second, "B acknowledges 150 requests", func() bool { return ackedB.Load() >= 150 })
	now := time.Now()
	killedAt.Store(&now)
	b.proc.Kill()
	t.Logf("SIGKILLed B after it acknowledged %d requests", ackedB.Load())
	pollUntil(t, 60*time.Second, "A acknowledges 300 requests sent after the kill", func() bool { return afterKillA.Load() >= 300 })
	close(stop)
	ops := wait()
	fails.report(t, "load")

	var all []mpOp
	for _, o := range ops {
		all = append(all, o...)
	}
	var acked []mpOp
	unknown, inFlightA := 0, 0
	for _, op := range all {
		switch {
		case op.kind == "set" && op.status == 0:
			acked = append(acked, op)
		case op.kind == "set":
			unknown++
		}
		if op.node == a.name && !op.start.After(now) && op.end.After(now) {
			inFlightA++
		}
	}
	// Every acknowledged set reads back through A.
	readBack(ctx, a, acked, fails)
	t.Logf("%d sets acknowledged (by B: %d requests before the kill) all read back through A; %d without an answer (B's, at the kill); %d of A's requests were in flight at the kill; A acknowledged %d sent after it",
		len(acked), ackedB.Load(), unknown, inFlightA, afterKillA.Load())
	fails.report(t, "after the kill")

	// B restarts on its data dir and serves the same data; the ledger's chain is whole.
	b2 := c.start(t, "B", b.dataDir)
	last := acked[len(acked)-1]
	if got, err := b2.secrets.GetSecret(ctx, last.name, last.version, nil); err != nil || *got.Value != last.value {
		t.Errorf("restarted B reads %s/%s: %v", last.name, last.version, err)
	}
	if status, body := b2.admin(t, "POST", "/admin/ledger/verify", ""); status != 200 {
		t.Errorf("ledger verify through the restarted B: %d %s", status, body)
	}
}

// mpClients runs perNode clients on each node until stop is closed or a client is done.
// A client's step sends its request i (drawing what it needs from rng, a source of the
// client's own) and returns the op, which the client records, and whether the client
// goes on. wait waits for every client and returns what each recorded.
func mpClients(nodes []*mpNode, perNode int, stop <-chan struct{}, step func(n *mpNode, w, i int, rng *mrand.Rand) (mpOp, bool)) (wait func() [][]mpOp) {
	ops := make([][]mpOp, len(nodes)*perNode)
	var wg sync.WaitGroup
	for w := range ops {
		n := nodes[w%len(nodes)]
		wg.Go(func() {
			rng := mrand.New(mrand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				op, more := step(n, w, i, rng)
				ops[w] = append(ops[w], op)
				if !more {
					return
				}
			}
		})
	}
	return func() [][]mpOp {
		wg.Wait()
		return ops
	}
}

// readBack reads the version of each acknowledged set through n, 8 at a time, and adds
// to fails every one that does not hold the value the set wrote.
func readBack(ctx context.Context, n *mpNode, sets []mpOp, fails *mpFailures) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < len(sets); i = int(next.Add(1) - 1) {
				op := sets[i]
				got, err := n.secrets.GetSecret(ctx, op.name, op.version, nil)
				if err != nil || got.Value == nil || *got.Value != op.value {
					fails.add("%s/%s, acknowledged by %s: read %v, %v; the set wrote %q", op.name, op.version, op.node, got.Value, err, op.value)
				}
			}
		})
	}
	wg.Wait()
}

func whenKill(at time.Time, killed *time.Time) string {
	if killed == nil || at.Before(*killed) {
		return "before"
	}
	return "after"
}

// mpValue is a unique value of name: name|who|worker|i.
func mpValue(name, who string, w, i int) string { return fmt.Sprintf("%s|%s|%d|%d", name, who, w, i) }

// ---------------------------------------------------------------------------------------
// Servers as processes.

// mpCluster starts `coffer server` processes on one fresh schema, with one public URL and
// one COFFER_MASTER_KEY, as behind a load balancer.
type mpCluster struct {
	*cluster
	bin  string
	env  []string
	args []string
}

func newMPCluster(t *testing.T) *mpCluster {
	t.Helper()
	c := newCluster(t, freshPostgres(t)) // skips without COFFER_TEST_POSTGRES_DSN
	return &mpCluster{cluster: c, bin: testenv.BuildCoffer(t),
		env: []string{"COFFER_MASTER_KEY=" + c.kek},
		// The ledger keeps its entries through the shifts (365 days by default).
		args: []string{"--storage", c.dsn, "--public-url", c.public, "--allow-time-shift", "--ledger-retention", "87600h"}}
}

// mpNode is one server process and clients pinned to it.
type mpNode struct {
	name    string
	public  string
	proc    *testenv.Process
	dataDir string
	http    *http.Client
	creds   identity.Credentials
	cred    azcore.TokenCredential
	secrets *azsecrets.Client // default vault, no retries: every answer shows
}

func (c *mpCluster) start(t *testing.T, name, dataDir string) *mpNode {
	t.Helper()
	p := testenv.StartProcessEnv(t, c.bin, dataDir, c.env, c.args...)
	n := &mpNode{name: name, public: c.public, proc: p, dataDir: dataDir}
	n.http = pinnedClient(t, p.CAPath(), p.Addr)
	n.creds = testenv.ReadCredentials(t, p.CredentialsPath())
	n.cred = testenv.Credential(t, n.creds, n.http)
	u, _ := url.Parse(c.public)
	n.secrets = noRetry(t, "https://default.localhost:"+u.Port()+"/", n.creds, n.cred, n.http)
	return n
}

// mpOp is one request as its client saw it.
type mpOp struct {
	kind       string // set, delete, recover, purge, get
	name       string
	node       string
	reqID      string // the answer's x-ms-request-id, which the ledger records
	start, end time.Time
	status     int // 0: acknowledged; else the refusal's HTTP status, -1 for no answer
	err        error
	version    string // set, get: the version written or read
	value      string // set: the value sent; get: the value read
}

func (n *mpNode) do(ctx context.Context, kind, name, value string) mpOp {
	op := mpOp{kind: kind, name: name, node: n.name, value: value}
	// The data plane names each request with an id of its own (x-ms-request-id), which
	// the ledger records.
	var resp *http.Response
	ctx = policy.WithCaptureResponse(ctx, &resp)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	op.start = time.Now()
	var err error
	switch kind {
	case "set":
		var r azsecrets.SetSecretResponse
		if r, err = n.secrets.SetSecret(ctx, name, azsecrets.SetSecretParameters{Value: &value}, nil); err == nil {
			op.version = r.ID.Version()
		}
	case "delete":
		_, err = n.secrets.DeleteSecret(ctx, name, nil)
	case "recover":
		_, err = n.secrets.RecoverDeletedSecret(ctx, name, nil)
	case "purge":
		_, err = n.secrets.PurgeDeletedSecret(ctx, name, nil)
	case "get":
		var r azsecrets.GetSecretResponse
		op.value = ""
		if r, err = n.secrets.GetSecret(ctx, name, "", nil); err == nil {
			op.version, op.value = r.ID.Version(), *r.Value
		}
	default:
		panic(kind)
	}
	op.end = time.Now()
	op.status, op.err = statusOf(err), err
	if resp != nil {
		op.reqID = resp.Header.Get("X-Ms-Request-Id")
	}
	if op.reqID == "" {
		op.reqID = "none:" + uuid.NewString() // no answer: matches no ledger entry
	}
	return op
}

// admin sends an administrator's request to the bare address.
func (n *mpNode) admin(t *testing.T, method, path, body string) (int, []byte) {
	t.Helper()
	status, b := send(t, n.http, method, n.public+path, token(t, n.cred, armScope), body)
	return status, []byte(b)
}

// shiftTime moves the clock by d through a (POST /admin/time-shift) and waits until b
// follows (it reads the stored offset every second): total is the shift so far.
func (c *mpCluster) shiftTime(t *testing.T, a, b *mpNode, d, total time.Duration) {
	t.Helper()
	if status, body := a.admin(t, "POST", "/admin/time-shift", fmt.Sprintf(`{"seconds":%d}`, int64(d/time.Second))); status != 200 {
		t.Fatalf("time shift: %d %s", status, body)
	}
	for _, n := range []*mpNode{a, b} {
		pollUntil(t, 20*time.Second, n.name+" follows the time shift", func() bool {
			r, err := n.secrets.SetSecret(t.Context(), "probe-"+n.name, azsecrets.SetSecretParameters{Value: to.Ptr("x")}, nil)
			return err == nil && r.Attributes.Created.After(time.Now().Add(total-time.Hour))
		})
	}
}

// sweepRE matches the sweeper's log line (slog text) and its count.
var sweepRE = regexp.MustCompile(`msg="scheduler carried out due actions[^"]*"[^\n]* count=(\d+)`)

// sweepCount sums the counts a server's sweeper logged.
func sweepCount(log string) int {
	n := 0
	for _, m := range sweepRE.FindAllStringSubmatch(log, -1) {
		k, _ := strconv.Atoi(m[1])
		n += k
	}
	return n
}

// ---------------------------------------------------------------------------------------
// The deletion ledger, as GET /admin/ledger shows it.

// historyOf lists entries as seq:action.
func historyOf(es []ledger.Entry) string {
	var out []string
	for _, e := range es {
		out = append(out, fmt.Sprintf("%d:%s", e.Seq, e.Action))
	}
	return "[" + strings.Join(out, " ") + "]"
}

// mpLedger reads the secrets' ledger entries incrementally.
type mpLedger struct {
	node    *mpNode
	entries []ledger.Entry
	byName  map[string][]ledger.Entry // lower-cased name → entries, in order
	after   int64
}

func (l *mpLedger) fetch(t *testing.T) {
	t.Helper()
	if l.byName == nil {
		l.byName = map[string][]ledger.Entry{}
	}
	for {
		status, body := l.node.admin(t, "GET", fmt.Sprintf("/admin/ledger?kind=secret&after=%d", l.after), "")
		if status != 200 {
			t.Fatalf("GET /admin/ledger: %d %s", status, body)
		}
		var page struct {
			Value    []ledger.Entry `json:"value"`
			NextLink string         `json:"nextLink"`
		}
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		for _, e := range page.Value {
			if e.Seq <= l.after {
				t.Fatalf("ledger: seq %d after %d", e.Seq, l.after)
			}
			l.after = e.Seq
			l.entries = append(l.entries, e)
			n := strings.ToLower(e.Name)
			l.byName[n] = append(l.byName[n], e)
		}
		if page.NextLink == "" || len(page.Value) == 0 {
			return
		}
	}
}

// mpFailures collects failures from many goroutines, reported once.
type mpFailures struct {
	mu   sync.Mutex
	msgs []string
}

func (f *mpFailures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, fmt.Sprintf(format, args...))
}

func (f *mpFailures) report(t *testing.T, what string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.msgs) == 0 {
		return
	}
	t.Errorf("%s: %d failures; the first:\n  %s", what, len(f.msgs), strings.Join(f.msgs[:min(15, len(f.msgs))], "\n  "))
	f.msgs = nil
}
