package store_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestBackup_UnderConcurrentPostings takes a backup while goroutines keep
// posting jobs through the store: the copy holds every posting
// acknowledged before the backup began, and its ledger verifies.
func TestBackup_UnderConcurrentPostings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := ledgerStore(t)
	if st.Postgres() {
		t.Skip("SQLite only: the backup is SQLite's VACUUM INTO; PostgreSQL is backed up with pg_dump (README)")
	}
	v := ledgerVillage(t, st, "皇珠村", 0)
	hs := ledgerHouseholds(t, st, v.ID, 12, 11)
	// A ledger big enough that the backup takes a while to read.
	bulkJobs(t, st, v.ID, hs[0].ID, 20_000)

	const posters = 4
	var (
		mu       sync.Mutex
		acked    []int64 // job IDs whose posting returned, in order
		job      atomic.Int64
		stop     = make(chan struct{})
		wg       sync.WaitGroup
		postErrs = make(chan error, posters)
	)
	job.Store(1_000_000)
	for g := range posters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := job.Add(1)
				helped, worker := hs[(g+i)%12], hs[(g+i+1)%12]
				_, _, err := st.PostJob(ctx, ledgerPosting(v.ID), id, helped.ID, []store.Attendance{{HouseholdID: worker.ID, HalfDays: 2}})
				if err != nil {
					postErrs <- err
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	ackedNow := func() []int64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]int64(nil), acked...)
	}
	for len(ackedNow()) < 100 {
		time.Sleep(5 * time.Millisecond)
	}
	before := ackedNow()
	path := filepath.Join(dir, "backup.db")
	require.NoError(t, st.Backup(ctx, path))
	during := len(ackedNow()) - len(before)
	for len(ackedNow()) < len(before)+during+50 {
		time.Sleep(5 * time.Millisecond) // postings go on after the backup too
	}
	close(stop)
	wg.Wait()
	close(postErrs)
	for err := range postErrs {
		require.NoError(t, err)
	}
	t.Logf("%d postings acknowledged before the backup, %d while it ran, %d in all", len(before), during, len(ackedNow()))
	assert.Positive(t, during, "postings went on while the backup ran")

	_, err := os.Stat(path + "-wal")
	assert.True(t, os.IsNotExist(err), "the backup is one file")
	require.NoError(t, store.CheckBackup(ctx, path))
	assert.Error(t, st.Backup(ctx, path), "an existing file is not overwritten")

	copied := ledgerOpen(t, path)
	defer copied.Close()
	var got []int64
	require.NoError(t, copied.DB().NewSelect().Table("ledger_transactions").ColumnExpr("CAST(source_id AS INTEGER)").
		Where("village_id = ?", v.ID).Where("source_id NOT LIKE 'bulk:%'").Scan(ctx, &got))
	have := map[int64]bool{}
	for _, id := range got {
		have[id] = true
	}
	for _, id := range before {
		require.True(t, have[id], "job %d was acknowledged before the backup began", id)
	}
	assert.Less(t, len(got), len(ackedNow())+posters, "postings after the backup are not in it")
	ver, err := copied.VerifyLedger(ctx, v.ID)
	require.NoError(t, err)
	assert.True(t, ver.OK(), ver.Mismatches)
	assert.Equal(t, 20_000+len(got), ver.Transactions)
}

// TestCheckBackup_RefusesWhatIsNotABackup: a file that is not a SQLite
// database, or one without the service's migrations, is refused.
func TestCheckBackup_RefusesWhatIsNotABackup(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.db")
	require.NoError(t, os.WriteFile(junk, []byte("not a database, just some bytes that are long enough to be read as a header"), 0o600))
	assert.Error(t, store.CheckBackup(t.Context(), junk))
	assert.Error(t, store.CheckBackup(t.Context(), filepath.Join(dir, "missing.db")))
}
