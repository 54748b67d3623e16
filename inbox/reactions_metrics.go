package inbox

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tongdao/hub/inbox/store"
)

var reactionLagDesc = prometheus.NewDesc("tongdao_reaction_lag_events",
	"Events committed that a reaction has not handled yet (reported by the replica running the reaction). Under a flood ingest goes first on SQLite's writer and the reactions catch up after.",
	[]string{"reaction"}, nil)

var writerDesc = prometheus.NewDesc("tongdao_sqlite_writer_seconds_total",
	"Time SQLite's single writer was held by ingest's group commits and by the reactions' transactions (the rest of the writes, API and outbox, are not counted). Its rate is the writer's use: near 1, writes wait for it.",
	[]string{"by"}, nil)

// writerTime reports how long ingest and the reactions held SQLite's
// writer.
type writerTime struct{ s *Service }

func (writerTime) Describe(ch chan<- *prometheus.Desc) { ch <- writerDesc }

func (w writerTime) Collect(ch chan<- prometheus.Metric) {
	if w.s.store.Driver != store.DriverSQLite {
		return
	}
	in, rx := w.s.store.WriterTime()
	ch <- prometheus.MustNewConstMetric(writerDesc, prometheus.CounterValue, in.Seconds(), "ingest")
	ch <- prometheus.MustNewConstMetric(writerDesc, prometheus.CounterValue, rx.Seconds(), "reactions")
}

// reactionLag reports how far behind the event log each reaction this
// replica runs is.
type reactionLag struct{ s *Service }

func (reactionLag) Describe(ch chan<- *prometheus.Desc) { ch <- reactionLagDesc }

func (l reactionLag) Collect(ch chan<- prometheus.Metric) {
	pos := l.s.runner.Positions()
	if len(pos) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	latest, err := l.s.store.LatestEventID(ctx)
	if err != nil {
		l.s.log.Warn("reaction lag metric", "err", err)
		return
	}
	for name, p := range pos {
		ch <- prometheus.MustNewConstMetric(reactionLagDesc, prometheus.GaugeValue, float64(max(latest-p, 0)), name)
	}
}
