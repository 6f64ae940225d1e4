package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/coffer/coffer/internal/audit"
	"github.com/coffer/coffer/internal/vault"
)

// metrics is what GET /metrics shows (Prometheus text format): Coffer's own, prefixed
// coffer_, and the standard Go runtime (go_…) and process (process_…) collectors. Request
// counts and latencies come from the audit outcome records (every plane writes one per
// request), so the two never disagree; the deleted-object gauges and the scheduler
// counts are read from the vault service when scraped, from counts it keeps (a scrape
// costs the same at any number of deleted objects).
type metrics struct {
	reg           *prometheus.Registry
	handler       http.Handler
	requests      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	manualPurges  atomic.Uint64 // the sweeper's come from the vault service
	auditFailures prometheus.Counter
	// Webhook delivery attempts by result (success, failure, dropped) and failed attempts
	// (package delivery).
	webhookDeliveries *prometheus.CounterVec
	webhookFailures   prometheus.Counter
	// Token requests the token endpoint's slow-down refused (429), by the bucket that
	// was empty: source (address) or client (client id).
	tokenThrottled *prometheus.CounterVec
	// Connections (conns.go).
	connOpen, connLimit prometheus.Gauge
	connRefused         prometheus.Counter
	connCut             *prometheus.CounterVec
}

func newMetrics(vaults *vault.Service, check *storageCheck) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffer_requests_total",
			Help: "Requests answered, by plane (data, arm, identity, admin), operation and HTTP status.",
		}, []string{"plane", "operation", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "coffer_request_duration_seconds",
			Help:    "Time to answer a request, by plane and operation.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"plane", "operation"}),
		auditFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "coffer_audit_write_failures_total",
			Help: "Audit records that could not be written (a mutation whose request record failed was refused).",
		}),
		webhookDeliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffer_webhook_deliveries_total",
			Help: "Webhook deliveries by result: success (the receiver answered 2xx), failure (retried with backoff), dropped (its subscription was deleted).",
		}, []string{"result"}),
		webhookFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "coffer_webhook_failures_total",
			Help: "Webhook delivery attempts that failed (no answer, or not 2xx); each is retried with backoff.",
		}),
		tokenThrottled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "coffer_token_requests_throttled_total",
			Help: "Token requests refused with 429 because of repeated failed client authentications, by what was slowed down: source (the address) or client (the client id).",
		}, []string{"by"}),
	}
	for _, by := range []string{"source", "client"} {
		m.tokenThrottled.WithLabelValues(by)
	}
	m.connOpen = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "coffer_connections_open",
		Help: "Client connections open (TLS handshake, request, or idle between requests).",
	})
	m.connLimit = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "coffer_connections_limit",
		Help: "The most connections served at once (--max-connections).",
	})
	m.connRefused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "coffer_connections_refused_total",
		Help: "Connections closed unserved: --max-connections were open, none idle, and none closed within --header-timeout.",
	})
	m.connCut = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "coffer_connections_cut_total",
		Help: "Connections (and HTTP/2 streams) the server cut off, by reason: slow (a TLS handshake, request headers or body that did not arrive in time), " +
			"idle (nothing sent between requests for --idle-timeout), evicted (idle, closed to make room at --max-connections).",
	}, []string{"reason"})
	for _, r := range []string{"slow", "idle", "evicted"} {
		m.connCut.WithLabelValues(r)
	}
	for _, r := range []string{"success", "failure", "dropped"} {
		m.webhookDeliveries.WithLabelValues(r) // shown at 0 before the first delivery
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "coffer_storage_problems",
		Help: "Damage the background check of the embedded database file found (pages that do not verify); /healthz answers 503 while it is not 0. Always 0 on PostgreSQL.",
	}, func() float64 { return float64(check.problems.Load()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "coffer_storage_check_done",
			Help: "1 once the background check of the embedded database file (its structure, then every value) has finished since the start, else 0.",
		}, func() float64 {
			if check.finished.Load() {
				return 1
			}
			return 0
		}))
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.reg.MustRegister(m.requests, m.duration, m.auditFailures, m.webhookDeliveries, m.webhookFailures, m.tokenThrottled,
		m.connOpen, m.connLimit, m.connRefused, m.connCut, &vaultCollector{vaults: vaults, manualPurges: &m.manualPurges})
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	return m
}

// observe counts one outcome record.
// webhookResult counts one webhook delivery attempt's result.
func (m *metrics) webhookResult(result string) {
	m.webhookDeliveries.WithLabelValues(result).Inc()
	if result == "failure" {
		m.webhookFailures.Inc()
	}
}

func (m *metrics) observe(e audit.Event) {
	op := e.Operation
	if op == "" {
		op = "unknown"
	}
	m.requests.WithLabelValues(e.Plane, op, strconv.Itoa(e.Status)).Inc()
	m.duration.WithLabelValues(e.Plane, op).Observe(e.Duration.Seconds())
	if e.Status >= 200 && e.Status < 300 && strings.Contains(strings.ToLower(op), "purge") {
		m.manualPurges.Add(1)
	}
}

// observedSink stamps the plane on a record, hands it to the audit sink, and counts
// outcome records and write failures.
type observedSink struct {
	plane string
	next  audit.Sink
	m     *metrics
}

func (o *observedSink) Record(ctx context.Context, e audit.Event) error {
	e.Plane = o.plane
	err := o.next.Record(ctx, e)
	if err != nil {
		o.m.auditFailures.Inc()
	}
	if e.Phase == "outcome" {
		o.m.observe(e)
	}
	return err
}

// vaultCollector reads the vault service when scraped: deleted objects awaiting purge,
// the sweeper's lag, the scheduler's actions and the ledger's size.
type vaultCollector struct {
	vaults       *vault.Service
	manualPurges *atomic.Uint64
}

var (
	descDeleted = prometheus.NewDesc("coffer_deleted_objects",
		"Soft-deleted vaults and objects awaiting purge, by vault and kind (vault, secret, key, certificate).", []string{"vault", "kind"}, nil)
	descLag = prometheus.NewDesc("coffer_sweeper_lag_seconds",
		"How far past its scheduledPurgeDate the most overdue deleted object or vault is (0 when none is).", nil, nil)
	descActions = prometheus.NewDesc("coffer_scheduler_actions_total",
		"Scheduled actions carried out by this process, by action (purge, purge-vault, other).", []string{"action"}, nil)
	descPurges = prometheus.NewDesc("coffer_purges_total",
		"Purges of deleted objects and vaults by cause: manual (a purge request) or sweeper (the retention ended).", []string{"cause"}, nil)
	descLedger = prometheus.NewDesc("coffer_ledger_entries",
		"Entries in the deletion ledger.", nil, nil)
)

func (c *vaultCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descDeleted
	ch <- descLag
	ch <- descActions
	ch <- descPurges
	ch <- descLedger
}

func (c *vaultCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.vaults.SchedulerCounts()
	for action, n := range counts {
		ch <- prometheus.MustNewConstMetric(descActions, prometheus.CounterValue, float64(n), action)
	}
	ch <- prometheus.MustNewConstMetric(descPurges, prometheus.CounterValue, float64(c.manualPurges.Load()), "manual")
	ch <- prometheus.MustNewConstMetric(descPurges, prometheus.CounterValue, float64(counts["purge"]+counts["purge-vault"]), "sweeper")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	pending, lag, err := c.vaults.PendingPurges(ctx)
	if err == nil {
		for _, p := range pending {
			ch <- prometheus.MustNewConstMetric(descDeleted, prometheus.GaugeValue, float64(p.Count), p.Vault, p.Kind)
		}
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, lag.Seconds())
	}
	if head, err := c.vaults.LedgerHead(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(descLedger, prometheus.GaugeValue, float64(head.Count))
	}
}
