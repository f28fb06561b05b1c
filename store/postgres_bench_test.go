package store_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"huangong/store/testdb"
)

// pgSlice is how long each side of BenchmarkPostgresPostingVsPgbench runs
// per round: long enough that pgbench's start (a process, a connection,
// a vacuum of its tables) is small beside it, short enough that the two
// sides meet the same disk.
const pgSlice = 2 * time.Second

// BenchmarkPostgresPostingVsPgbench compares a job posting through the
// store on PostgreSQL (as BenchmarkLedgerPostJob: one transaction, four
// entries, four balance updates) with pgbench's builtin simple-update
// transaction (-b simple-update, the same as -N: an UPDATE, a SELECT and
// an INSERT) on one client, both on a fresh database of the server
// HUANGONG_TEST_PG names. Each round posts for pgSlice, then runs pgbench
// for pgSlice (-T); the rounds alternate in one loop and the ratio is of
// the two sides' median rates, so a machine busy with other work slows
// both alike. The goal is at least one half. Each round takes about
// twice pgSlice, so run it with -benchtime Nx (e.g. 5x). The figure
// means something only on a server with default durability (fsync and
// synchronous_commit on), not the one .ci/with-postgres starts.
func BenchmarkPostgresPostingVsPgbench(b *testing.B) {
	admin := os.Getenv(testdb.PGEnv)
	if admin == "" {
		b.Skipf("%s is not set: this benchmark needs a PostgreSQL server (and its pgbench)", testdb.PGEnv)
	}
	pgbench := pgbenchPath(b)
	post := jobPoster(b)
	bench := pgbenchSlices(b, pgbench, testdb.NewPGDatabase(b, admin))
	var rp, rb []float64
	var rounds []string
	n := 0
	for b.Loop() {
		count, t0 := 0, time.Now()
		for time.Since(t0) < pgSlice {
			n++
			count++
			post(n)
		}
		rp = append(rp, float64(count)/time.Since(t0).Seconds())
		rb = append(rb, bench())
		rounds = append(rounds, fmt.Sprintf("%.0f / %.0f", rp[len(rp)-1], rb[len(rb)-1]))
	}
	// Every round, for -v: a disk that slows for a few seconds shows
	// here before it moves the medians.
	b.Logf("each round, postings/s / pgbench tps: %s", strings.Join(rounds, "  "))
	mp, mb := median(rp), median(rb)
	b.ReportMetric(mp, "postings/s")
	b.ReportMetric(mb, "pgbench-tps")
	b.ReportMetric(mp/mb, "ratio")
}

// pgbenchPath finds pgbench: HUANGONG_PGBENCH, else the newest
// /usr/lib/postgresql/*/bin/pgbench (Debian's packages, as
// .ci/with-postgres finds the server), else pgbench on PATH.
func pgbenchPath(b *testing.B) string {
	if p := os.Getenv("HUANGONG_PGBENCH"); p != "" {
		return p
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/pgbench")
	slices.SortFunc(found, func(x, y string) int { return pgMajor(x) - pgMajor(y) })
	if len(found) > 0 {
		return found[len(found)-1]
	}
	p, err := exec.LookPath("pgbench")
	if err != nil {
		b.Skip("no pgbench: install postgresql-client or set HUANGONG_PGBENCH")
	}
	return p
}

// pgMajor is the major version in a path /usr/lib/postgresql/N/bin/….
func pgMajor(path string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return n
}

// pgbenchTPS is pgbench's rate line; the rate without the connection
// time is the one comparable with postings on an open pool.
var pgbenchTPS = regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`)

// pgbenchSlices initialises pgbench's tables at scale 1 in the database
// at dsn and returns one slice of its simple-update run on one client:
// its transactions per second over pgSlice.
func pgbenchSlices(b *testing.B, pgbench, dsn string) func() float64 {
	if out, err := exec.Command(pgbench, "-i", "-s", "1", "-q", dsn).CombinedOutput(); err != nil {
		b.Fatalf("pgbench -i: %v\n%s", err, out)
	}
	secs := strconv.Itoa(int(pgSlice / time.Second))
	return func() float64 {
		out, err := exec.Command(pgbench, "-b", "simple-update", "-c", "1", "-T", secs, dsn).CombinedOutput()
		if err != nil {
			b.Fatalf("pgbench: %v\n%s", err, out)
		}
		m := pgbenchTPS.FindSubmatch(out)
		if m == nil {
			b.Fatalf("pgbench printed no tps:\n%s", out)
		}
		tps, err := strconv.ParseFloat(string(m[1]), 64)
		if err != nil {
			b.Fatal(err)
		}
		return tps
	}
}
