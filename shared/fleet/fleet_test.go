package fleet_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prism-es/prism/shared/fleet"
	"github.com/prism-es/prism/shared/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) { testenv.MainRedis(m, &env) }

// TestReportAndRead: a reporter's metrics, channels and extras reach Read
// within a tick; a stopped reporter removes itself; a stale entry is not
// read back as a live process.
func TestReportAndRead(t *testing.T) {
	rdb := env.Redis(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reg := prometheus.NewRegistry()
	inFlight := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "prism_queue_in_flight", Help: "x"}, []string{"queue"})
	lag := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "prism_projection_lag_seconds", Help: "x"}, []string{"projection"})
	other := prometheus.NewCounter(prometheus.CounterOpts{Name: "prism_not_reported_total", Help: "x"})
	reg.MustRegister(inFlight, lag, other)
	inFlight.WithLabelValues("commands").Set(3)
	lag.WithLabelValues("carts").Observe(0.5)
	lag.WithLabelValues("carts").Observe(1.5)
	other.Inc()

	r := &fleet.Reporter{Redis: rdb, Service: "domain-service", Addr: ":8082", Writes: []string{"notices"}, Every: 50 * time.Millisecond,
		Gatherer: reg, Extra: func() map[string]any { return map[string]any{"rebuilds": []string{"carts"}} }}
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	var got []fleet.Member
	require.Eventually(t, func() bool {
		var err error
		got, err = fleet.Read(context.Background(), rdb)
		return err == nil && len(got) == 1
	}, 5*time.Second, 20*time.Millisecond)
	m := got[0]
	assert.Equal(t, "domain-service", m.Service)
	assert.Equal(t, ":8082", m.Addr)
	assert.Equal(t, fleet.Instance(), m.Instance)
	assert.Equal(t, []string{"notices"}, m.Writes)
	assert.Equal(t, 3.0, m.Sum("prism_queue_in_flight", map[string]string{"queue": "commands"}))
	assert.True(t, m.Has("prism_queue_in_flight", nil))
	assert.Equal(t, 2.0, m.Sum("prism_projection_lag_seconds_sum", map[string]string{"projection": "carts"}))
	assert.Equal(t, 2.0, m.Sum("prism_projection_lag_seconds_count", nil))
	assert.False(t, m.Has("prism_not_reported_total", nil), "only the reported families travel")
	assert.Equal(t, []string{"commands"}, m.LabelValues("prism_queue_in_flight", "queue"))
	assert.JSONEq(t, `["carts"]`, string(m.Extra["rebuilds"]))

	cancel()
	require.NoError(t, <-done)
	got, err := fleet.Read(context.Background(), rdb)
	require.NoError(t, err)
	assert.Empty(t, got, "a stopped process removes itself")

	// A process killed without removing itself: its last report goes stale.
	old, _ := json.Marshal(fleet.Member{Service: "domain-service", Instance: "gone/1", SeenAt: time.Now().Add(-fleet.Stale - time.Second)})
	require.NoError(t, rdb.HSet(context.Background(), fleet.Key, "gone/1", old).Err())
	got, err = fleet.Read(context.Background(), rdb)
	require.NoError(t, err)
	assert.Empty(t, got, "a stale report is not a live process")
	ancient, _ := json.Marshal(fleet.Member{Service: "x", Instance: "ancient/1", SeenAt: time.Now().Add(-2 * time.Minute)})
	require.NoError(t, rdb.HSet(context.Background(), fleet.Key, "ancient/1", ancient).Err())
	_, err = fleet.Read(context.Background(), rdb)
	require.NoError(t, err)
	assert.False(t, rdb.HExists(context.Background(), fleet.Key, "ancient/1").Val(), "entries gone for a minute are deleted")
}
