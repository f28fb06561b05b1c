package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler"
	"huangong/store"
	"huangong/store/storetest"
	"huangong/store/testdb"
)

// instanceEnv makes the test binary a `huangong serve` process (see
// TestMain): its value is the database; the tick and the lease are short
// so a test sees the lease move within seconds.
const instanceEnv = "HUANGONG_TEST_INSTANCE_DB"

func runInstance() int {
	// Catch-up is short: the season's every-second notice is due since
	// midnight, and only the slots of the test's own seconds should run.
	cronOptions = scheduler.CronOptions{Interval: 100 * time.Millisecond, LeaseTTL: 2 * time.Second,
		Rescan: time.Second, CatchUp: 3 * time.Second}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	err := run(ctx, []string{"serve", "--db", os.Getenv(instanceEnv), "--addr", "127.0.0.1:0", "--no-demo"}, os.Stdout, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestSeveralInstances runs two `serve` processes on one database (a
// SQLite file; and one PostgreSQL database when HUANGONG_TEST_PG is set),
// posts transfers to both at once, SIGKILLs one while the other keeps
// serving, and retries what the killed one did not answer on the other
// with the same Idempotency-Key. Then every transfer is in the ledger
// exactly once, the ledger verifies, the survivor took the lease over and
// no cron slot ran twice: each notice slot (every second) is recorded once
// and published at most one notice.
func TestSeveralInstances(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	t.Run("sqlite", func(t *testing.T) { testSeveralInstances(t, filepath.Join(t.TempDir(), "two.db")) })
	if testdb.Postgres() {
		t.Run("postgres", func(t *testing.T) { testSeveralInstances(t, testdb.Database(t, "two.db")) })
	}
}

func testSeveralInstances(t *testing.T, db string) {
	ctx := t.Context()
	st, err := store.Open(ctx, db)
	require.NoError(t, err)
	v := storetest.MustVillage(t, st, "皇珠村")
	var hs []*store.Household
	for range 6 {
		hs = append(hs, storetest.MustHousehold(t, st, v.ID, nil))
	}
	today := time.Now().In(v.Location()).Format(time.DateOnly)
	far := time.Now().AddDate(0, 1, 0).Format(time.DateOnly)
	se := &store.Season{VillageID: v.ID, Kind: store.SeasonSpring, StartDate: today, EndDate: far,
		Tasks: []string{store.TaskPrepare}, Crons: map[string]string{scheduler.CronNotice: "@every 1s"}}
	require.NoError(t, st.CreateSeason(ctx, se))
	_, err = st.UpdateSeason(ctx, v.ID, se.ID, 0, func(s *store.Season) error { s.State = store.SeasonOpen; return nil })
	require.NoError(t, err)
	token, err := st.CreateToken(ctx, &store.Token{VillageID: v.ID, Role: store.RoleCadre, Label: "test"})
	require.NoError(t, err)
	require.NoError(t, st.Close())

	a, b := startInstance(t, db), startInstance(t, db)

	// Posters send transfers to both instances, each under its own key;
	// a try the killed instance does not answer goes to the survivor.
	var (
		killed    atomic.Bool
		acked     sync.Map // key → transaction ID
		keys      atomic.Int64
		wg        sync.WaitGroup
		stop      = make(chan struct{})
		retriesOn atomic.Int64
	)
	hc := &http.Client{Timeout: 10 * time.Second}
	post := func(base, key string, from, to int64) (int64, error) {
		body, _ := json.Marshal(map[string]any{"from": from, "to": to, "workdays": 0.5, "memo": "换工 " + key})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/transfers", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", key)
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("%s: %d %s", base, resp.StatusCode, raw)
		}
		var out struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(raw, &out); err != nil || out.ID == 0 {
			return 0, fmt.Errorf("%s: answer %s", base, raw)
		}
		return out.ID, nil
	}
	for w := range 8 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("w%d-%d", w, keys.Add(1))
				from, to := hs[(w+i)%len(hs)].ID, hs[(w+i+1)%len(hs)].ID
				first := a
				if (w+i)%2 == 1 {
					first = b
				}
				id, err := post(first.base, key, from, to)
				for try := 0; err != nil && try < 20; try++ {
					if first == a && !killed.Load() {
						// Not the kill: a real failure.
						t.Errorf("transfer %s: %v", key, err)
						return
					}
					retriesOn.Add(1)
					time.Sleep(50 * time.Millisecond)
					id, err = post(b.base, key, from, to)
				}
				if !assert.NoError(t, err, "transfer %s on the survivor", key) {
					return
				}
				acked.Store(key, id)
			}
		})
	}

	time.Sleep(2 * time.Second)
	holder, err := openLeaseHolder(ctx, db)
	require.NoError(t, err)
	killed.Store(true)
	require.NoError(t, a.cmd.Process.Kill()) // SIGKILL, mid-posting
	<-a.done
	t.Logf("killed instance A (pid %d); lease was %s", a.cmd.Process.Pid, holder)

	// The survivor keeps serving and, within the lease's TTL, runs the
	// cron slots too.
	deadline := time.Now().Add(15 * time.Second)
	for {
		h, err := openLeaseHolder(ctx, db)
		require.NoError(t, err)
		if strings.HasPrefix(h, b.holder) && time.Now().After(deadline.Add(-12*time.Second)) {
			break
		}
		require.True(t, time.Now().Before(deadline), "the survivor never took the lease (held by %q)", h)
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	b.stop(t)

	st, err = store.Open(ctx, db)
	require.NoError(t, err)
	defer st.Close()

	// Every acknowledged transfer is in the ledger once, under its key (as
	// stored: after its caller, "cadre#ID key").
	n := 0
	acked.Range(func(k, id any) bool {
		n++
		var got []*store.Transaction
		require.NoError(t, st.DB().NewSelect().Model(&got).Where("village_id = ?", v.ID).
			Where("idempotency_key LIKE ?", "% "+k.(string)).Scan(ctx))
		if assert.Len(t, got, 1, "transfer %s", k) {
			assert.Equal(t, id, got[0].ID, "transfer %s", k)
		}
		return true
	})
	var transfers int
	require.NoError(t, st.DB().NewSelect().Model((*store.Transaction)(nil)).ColumnExpr("COUNT(*)").
		Where("village_id = ?", v.ID).Where("kind = ?", store.TxTransfer).Scan(ctx, &transfers))
	assert.Equal(t, n, transfers, "no transfer doubled or written without its answer")
	ver, err := st.VerifyLedger(ctx, v.ID)
	require.NoError(t, err)
	assert.True(t, ver.OK(), "ledger verifies: %v", ver.Mismatches)

	// Cron: each notice slot recorded once, at most one notice per slot
	// run (a run the kill cut short may have failed before it wrote) and
	// every succeeded run wrote its notice. (With every second due since
	// the season began, the catch-up runs many slots.)
	var slots struct {
		Runs, Slots, Succeeded int
	}
	require.NoError(t, st.DB().NewSelect().TableExpr("schedule_runs").
		ColumnExpr("COUNT(*) AS runs, COUNT(DISTINCT scheduled_at) AS slots, COUNT(*) FILTER (WHERE state = ?) AS succeeded", store.RunSucceeded).
		Where("season_id = ?", se.ID).Where("job = ?", scheduler.CronNotice).Scan(ctx, &slots))
	assert.Equal(t, slots.Runs, slots.Slots, "a slot recorded twice")
	var cron int
	require.NoError(t, st.DB().NewSelect().TableExpr("notices").ColumnExpr("COUNT(*)").
		Where("season_id = ?", se.ID).Where("created_by = ?", "scheduler:"+scheduler.CronNotice).Scan(ctx, &cron))
	assert.Positive(t, slots.Succeeded, "notice slots ran")
	assert.GreaterOrEqual(t, cron, slots.Succeeded, "every succeeded slot published its notice")
	assert.LessOrEqual(t, cron, slots.Runs, "no slot published twice")
	t.Logf("%d transfers (%d retried on the survivor), %d notice slots (%d succeeded), %d notices",
		n, retriesOn.Load(), slots.Runs, slots.Succeeded, cron)
}

// instance is one `huangong serve` process of the test binary.
type instance struct {
	cmd    *exec.Cmd
	base   string // http://127.0.0.1:port
	holder string // its scheduler lease holder
	done   chan struct{}
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

func startInstance(t *testing.T, db string) *instance {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), instanceEnv+"="+db)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	in := &instance{cmd: cmd, done: make(chan struct{})}
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-in.done
		if t.Failed() {
			t.Logf("instance %d stderr:\n%s", cmd.Process.Pid, stderr.String())
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(in.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := listening.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		cmd.Wait()
	}()
	select {
	case in.base = <-addr:
	case <-in.done:
		t.Fatalf("instance exited: %s", stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("instance did not start: %s", stderr.String())
	}
	in.holder = fmt.Sprintf("%s:%d:", hostname(), cmd.Process.Pid) // and a random suffix
	return in
}

// stop ends the instance with SIGTERM and waits for it.
func (in *instance) stop(t *testing.T) {
	in.cmd.Process.Signal(os.Interrupt)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		t.Errorf("instance %d did not stop", in.cmd.Process.Pid)
	}
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}

// openLeaseHolder reads who holds the scheduler lease now.
func openLeaseHolder(ctx context.Context, db string) (string, error) {
	st, err := store.Open(ctx, db)
	if err != nil {
		return "", err
	}
	defer st.Close()
	l, err := st.LeaseHolder(ctx)
	if err != nil || l == nil {
		return "", err
	}
	return l.Holder, nil
}
