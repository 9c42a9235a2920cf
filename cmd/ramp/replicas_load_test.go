package main

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestReplicaIngestScaling measures event ingestion over PostgreSQL with 1, 2 and 3
// replicas on this machine: a bounded load generator posts gzip batches of 1 000
// events over loopback HTTP, round robin over the replicas, for
// RAMP_INGEST_SECONDS (default 10) per configuration, and reports the events per
// second acknowledged, where the CPU went, and the leader's aggregator lag at the
// end. The generator, the replicas and PostgreSQL share the machine's cores, so
// read the result as a scaling curve, not a capacity claim:
//
//	RAMP_HEAVY=1 go test -run TestReplicaIngestScaling -v ./cmd/ramp
func TestReplicaIngestScaling(t *testing.T) {
	if os.Getenv("RAMP_HEAVY") != "1" {
		t.Skip("a load run of about a minute: set RAMP_HEAVY=1")
	}
	base := postgresBase(t)
	bin := buildRamp(t)
	seconds := 10
	if s, err := strconv.Atoi(os.Getenv("RAMP_INGEST_SECONDS")); err == nil && s > 0 {
		seconds = s
	}
	const workers, perBatch = 8, 1000
	var table []string
	for _, n := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("%d replicas", n), func(t *testing.T) {
			db := newDatabase(t, base)
			c := &cluster{t: t, bin: bin, store: db.url, tick: time.Second}
			var replicas []*replica
			for i := range n {
				replicas = append(replicas, c.start(fmt.Sprintf("r%d", i)))
			}
			c.boolFlag(replicas[0], "smart-reply")
			key := c.sdkKey(replicas[0], "production")
			var ro rolloutView
			c.api(replicas[0], "POST", "/api/v1/rollouts", map[string]any{"overrides": map[string]any{
				"flag": "smart-reply", "environment": "production", "treatment": "on", "control": "off",
				"stages":     []any{map[string]any{"name": "ring-50", "percent": 50, "min_duration": "1h"}, map[string]any{"name": "all", "percent": 100}},
				"guardrails": []any{map[string]any{"metric": "error_rate", "direction": "increase", "action": "pause"}},
			}}, http.StatusCreated, &ro)
			c.api(replicas[0], "POST", "/api/v1/rollouts/"+ro.ID+"/start", map[string]any{"reason": "load"}, http.StatusOK, nil)

			bodies := batchBodies(ro.ID, 64, perBatch)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}, Timeout: 30 * time.Second}
			var accepted, refused atomic.Int64
			var seq atomic.Int64
			deadline := time.Now().Add(time.Duration(seconds) * time.Second)
			cpuBefore, procBefore, pgBefore, busyBefore := selfCPU(), replicaCPU(replicas), postgresCPU(), machineBusy()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					for i := w; time.Now().Before(deadline); i += workers {
						k := seq.Add(1)
						gz := bodies[k%int64(len(bodies))].with(fmt.Sprintf("load-%d", k))
						status, _, err := postBatch(client, replicas[i%n].url, key, gz)
						if err == nil && status == http.StatusAccepted {
							accepted.Add(1)
						} else {
							refused.Add(1)
						}
					}
				})
			}
			wg.Wait()
			wall := time.Since(start)
			cpuGen, cpuRamp, cpuPG := selfCPU()-cpuBefore, replicaCPU(replicas)-procBefore, postgresCPU()-pgBefore
			busy := machineBusy().sub(busyBefore)

			// The leader's aggregator, shortly after the load stopped.
			pid, _, _ := db.lease(t)
			var leader *replica
			for _, r := range replicas {
				if r.cmd.Process.Pid == pid {
					leader = r
				}
			}
			var st struct {
				Seq        int64   `json:"seq"`
				LagSeconds float64 `json:"lag_seconds"`
			}
			if leader != nil {
				c.api(leader, "GET", "/api/v1/ingest", nil, http.StatusOK, &st)
			}
			var stored, maxSeq int64
			if err := db.admin.QueryRow(`SELECT count(*), COALESCE(max(seq), 0) FROM `+pgx.Identifier{db.schema, "event_batches"}.Sanitize()).Scan(&stored, &maxSeq); err != nil {
				t.Fatal(err)
			}
			if stored != accepted.Load() {
				t.Errorf("%d batches acknowledged, %d stored", accepted.Load(), stored)
			}
			rate := float64(accepted.Load()*perBatch) / wall.Seconds()
			cores := wall.Seconds() * 2
			var rss []string
			for _, r := range replicas {
				rss = append(rss, procRSS(r.cmd.Process.Pid))
			}
			row := fmt.Sprintf("%d replica(s): %8.0f events/s (%d batches in %s, %d refused); CPU of 2 cores: generator %.0f%%, replicas %.0f%%, PostgreSQL %.0f%%, machine busy %.0f%%; aggregator at batch %d of %d, lag %.1fs; RSS %s",
				n, rate, accepted.Load(), wall.Round(time.Millisecond), refused.Load(),
				100*cpuGen.Seconds()/cores, 100*cpuRamp.Seconds()/cores, 100*cpuPG.Seconds()/cores, 100*busy, st.Seq, maxSeq, st.LagSeconds, strings.Join(rss, ", "))
			t.Log(row)
			table = append(table, row)
		})
	}
	t.Logf("ingestion over PostgreSQL, gzip batches of %d events, %d workers, %ds per configuration:\n%s", perBatch, workers, seconds, strings.Join(table, "\n"))
}

// batchBody is a batch whose batch id is filled in per request: the events are
// compressed once as one gzip member, and the id as a second, tiny one (gzip
// readers read concatenated members as one stream), so the generator spends its
// CPU on sending rather than encoding.
type batchBody struct{ events []byte }

func (b batchBody) with(batchID string) []byte {
	var buf bytes.Buffer
	buf.Write(b.events)
	zw := gzip.NewWriter(&buf)
	fmt.Fprintf(zw, `,"batch_id":%q}`, batchID)
	zw.Close()
	return buf.Bytes()
}

// batchBodies prepares k batch bodies of n events each: exposures of distinct
// units of the rollout's first stage, in the planned ratio, and a metric event for
// every fourth unit.
func batchBodies(rolloutID string, k, n int) []batchBody {
	out := make([]batchBody, k)
	at := time.Now().UTC()
	for j := range out {
		evs := make([]map[string]any, 0, n)
		for i := range n {
			u := j*n + i
			arm, variant := "control", "off"
			if u%2 == 0 {
				arm, variant = "treatment", "on"
			}
			if i%4 == 3 {
				evs = append(evs, map[string]any{"kind": "metric", "time": at, "unit": fmt.Sprintf("user-%d", u-1), "metric": "error", "value": float64(u % 2)})
				continue
			}
			evs = append(evs, map[string]any{"kind": "exposure", "time": at, "unit": fmt.Sprintf("user-%d", u), "flag": "smart-reply", "variant": variant,
				"rollout": rolloutID, "stage": "ring-50", "arm": arm, "rule_id": "rollout.ring." + arm,
				"dimensions": map[string]string{"country": []string{"DE", "BR", "US", "FR"}[u%4], "plan": []string{"free", "pro"}[u%2]}})
		}
		js, _ := json.Marshal(evs)
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		fmt.Fprintf(zw, `{"sdk":"load","events":%s`, js)
		zw.Close()
		out[j] = batchBody{events: buf.Bytes()}
	}
	return out
}

// selfCPU is the CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// replicaCPU sums the CPU time the replicas' processes have used.
func replicaCPU(rs []*replica) time.Duration {
	var total time.Duration
	for _, r := range rs {
		total += procCPU(r.cmd.Process.Pid)
	}
	return total
}

// postgresCPU sums the CPU time of the machine's PostgreSQL processes, including
// backends that have ended (they count in the postmaster's reaped children). The
// server is shared, so other users' queries count too.
func postgresCPU() time.Duration {
	entries, _ := os.ReadDir("/proc")
	var total time.Duration
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || !isPostgres(e.Name()) {
			continue
		}
		f := procStat(pid)
		if len(f) <= 14 {
			continue
		}
		total += ticks(f[11]) + ticks(f[12])
		if !isPostgres(f[1]) { // the postmaster: add its reaped backends
			total += ticks(f[13]) + ticks(f[14])
		}
	}
	return total
}

func isPostgres(pid string) bool {
	comm, _ := os.ReadFile("/proc/" + pid + "/comm")
	return strings.TrimSpace(string(comm)) == "postgres"
}

// procStat returns the fields of /proc/<pid>/stat after the command name: state,
// ppid, …, utime (11), stime (12), cutime (13), cstime (14), … (Linux).
func procStat(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return nil
	}
	return strings.Fields(string(data[bytes.LastIndexByte(data, ')')+1:]))
}

// ticks converts clock ticks (1/100 s) to a duration.
func ticks(s string) time.Duration {
	n, _ := strconv.ParseInt(s, 10, 64)
	return time.Duration(n) * 10 * time.Millisecond
}

// procRSS is a process's resident memory (Linux /proc), e.g. "48 MB".
func procRSS(pid int) string {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.Atoi(f[1])
			return fmt.Sprintf("%d MB", kb/1024)
		}
	}
	return "?"
}

// procCPU is the CPU time a process has used.
func procCPU(pid int) time.Duration {
	f := procStat(pid)
	if len(f) <= 12 {
		return 0
	}
	return ticks(f[11]) + ticks(f[12])
}

// cpuTimes are the machine's busy and total CPU ticks (Linux /proc/stat).
type cpuTimes struct{ busy, total int64 }

func machineBusy() cpuTimes {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTimes{}
	}
	line, _, _ := strings.Cut(string(data), "\n")
	var c cpuTimes
	for i, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseInt(f, 10, 64)
		c.total += v
		if i != 3 && i != 4 { // idle, iowait
			c.busy += v
		}
	}
	return c
}

// sub returns the busy share of the ticks since before.
func (c cpuTimes) sub(before cpuTimes) float64 {
	if c.total == before.total {
		return 0
	}
	return float64(c.busy-before.busy) / float64(c.total-before.total)
}
