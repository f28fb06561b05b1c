package relay_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler/relay"
	"huangong/store"
	"huangong/store/testdb"
)

// childDB names the database a re-executed test binary relays from: the
// test binary is the service's relay process in TestCrash_KillNine.
const childDB = "HUANGONG_RELAY_CHILD_DB"

func TestMain(m *testing.M) {
	if path := os.Getenv(childDB); path != "" {
		os.Exit(runChild(path))
	}
	os.Exit(m.Run())
}

// runChild relays from the database at path, on the real clock, until
// it is killed or told to stop.
func runChild(path string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	st, err := store.Open(ctx, path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	r := relay.New(st, relay.Options{Interval: 20 * time.Millisecond, BackoffBase: 10 * time.Millisecond})
	if err := r.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// TestCrash_KillNine kills the relay process with SIGKILL while the SMS
// gateway is slow to answer, starts it again, and checks that every
// message arrived, that only the one in flight at the kill came twice,
// and that each copy carried the same message ID.
func TestCrash_KillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	e := newEnv(t)
	path := testdb.Of(t, e.St.DB().DB)
	_, err := e.St.SetNotifySettings(e.Ctx, e.V.ID, &store.NotifySettings{QuietFrom: "00:00", QuietTo: "00:00", GiveUpMinutes: 60})
	require.NoError(t, err) // the child runs on the real clock: no quiet hours

	var mu sync.Mutex
	var ids []string // message IDs in the order requests arrived
	entered := make(chan string, 100)
	slow := newFake(t, nil)
	slow.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("Idempotency-Key")
		mu.Lock()
		ids = append(ids, id)
		mu.Unlock()
		entered <- id
		time.Sleep(100 * time.Millisecond) // slow: the kill lands while one is in flight
		w.WriteHeader(http.StatusOK)
	})
	e.smsChannel(t, slow.URL)
	const messages = 12
	for i := 0; i < messages; i++ {
		e.Job(t, e.Request(t, nil), e.Team1, e.Day())
	}

	start := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childDB+"="+path)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		return cmd
	}
	child := start()
	for i := 0; i < 5; i++ {
		select {
		case <-entered:
		case <-time.After(20 * time.Second):
			t.Fatal("the relay sent nothing")
		}
	}
	time.Sleep(20 * time.Millisecond) // the fifth request is being answered
	require.NoError(t, child.Process.Signal(syscall.SIGKILL))
	_ = child.Wait()
	mu.Lock()
	beforeKill := len(ids)
	inFlight := ids[beforeKill-1] // one channel sends one at a time: the last one asked was in flight
	mu.Unlock()

	child = start()
	t.Cleanup(func() { _ = child.Process.Signal(syscall.SIGTERM); _ = child.Wait() })
	require.Eventually(t, func() bool {
		n := 0
		for _, d := range e.deliveries(t) {
			if d.State == store.DeliveryDelivered {
				n++
			}
		}
		return n == messages
	}, 30*time.Second, 50*time.Millisecond, "every message is delivered after the restart")

	mu.Lock()
	defer mu.Unlock()
	want := map[string]bool{}
	for _, d := range e.deliveries(t) {
		want[d.MessageID] = true
	}
	got := map[string]int{}
	for _, id := range ids {
		got[id]++
	}
	assert.Len(t, got, messages)
	for id := range want {
		assert.Positive(t, got[id], "message %s arrived", id)
	}
	for id, n := range got {
		if n > 1 {
			assert.Equal(t, inFlight, id, "only the message in flight at the kill comes twice")
			assert.Equal(t, 2, n)
		}
	}
	assert.LessOrEqual(t, len(ids)-len(got), 1, "at most one duplicate: one channel sends one at a time")
	t.Logf("requests before the kill %d, in all %d, distinct %d; in flight %s", beforeKill, len(ids), len(got), inFlight)
}
