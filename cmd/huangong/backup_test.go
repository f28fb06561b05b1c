package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/seed"
	"huangong/store"
)

// TestBackupRestore: a backup of the demo database restores into a new
// file and, with --force only, over a database that holds data; the
// restored copy holds the backup's postings and not later ones; a file
// that is not a backup is refused and nothing is replaced.
func TestBackupRestore(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "live.db")
	runCmd := commandRunner(ctx)
	_, err := runCmd("seed", "--db", db)
	require.NoError(t, err)
	transactions := func(path string) int {
		st, err := store.Open(ctx, path)
		require.NoError(t, err)
		defer st.Close()
		n, err := st.DB().NewSelect().Table("ledger_transactions").Count(ctx)
		require.NoError(t, err)
		return int(n)
	}
	post := func(job int64) {
		st, err := store.Open(ctx, db)
		require.NoError(t, err)
		defer st.Close()
		v, err := st.FindVillage(ctx, seed.DemoName)
		require.NoError(t, err)
		hs, _, err := st.ListHouseholds(ctx, v.ID, store.HouseholdFilter{}, store.Page{Limit: 2})
		require.NoError(t, err)
		_, _, err = st.PostJob(ctx, store.Posting{VillageID: v.ID, Actor: "test"}, job, hs[0].ID, []store.Attendance{{HouseholdID: hs[1].ID, HalfDays: 2}})
		require.NoError(t, err)
	}
	post(1_000_001)
	backedUp := transactions(db)

	backup := filepath.Join(dir, "备份 2026-12-07.db")
	out, err := runCmd("backup", "--db", db, "--out", backup)
	require.NoError(t, err, out)
	assert.Contains(t, out, "backed up")
	_, err = runCmd("backup", "--db", db, "--out", backup)
	assert.Error(t, err, "an existing backup is not overwritten")
	post(1_000_002)
	missing := filepath.Join(dir, "missing.db")
	_, err = runCmd("backup", "--db", missing, "--out", filepath.Join(dir, "m.db"))
	assert.Error(t, err)
	assert.NoFileExists(t, missing, "backup never creates the database it copies")
	_, err = runCmd("backup", "--db", "postgres://localhost/huangong", "--out", filepath.Join(dir, "pg.db"))
	assert.ErrorContains(t, err, "pg_dump")

	fresh := filepath.Join(dir, "fresh.db")
	out, err = runCmd("restore", "--from", backup, "--db", fresh)
	require.NoError(t, err, out)
	assert.Contains(t, out, "平衡 ok")
	assert.Equal(t, backedUp, transactions(fresh))

	_, err = runCmd("restore", "--from", backup, "--db", db)
	require.Error(t, err, "a database holding data needs --force")
	assert.Contains(t, err.Error(), "--force")
	assert.Equal(t, backedUp+1, transactions(db), "nothing replaced")

	junk := filepath.Join(dir, "junk.db")
	require.NoError(t, os.WriteFile(junk, bytes.Repeat([]byte("x"), 4096), 0o600))
	_, err = runCmd("restore", "--from", junk, "--db", db, "--force")
	require.Error(t, err)
	assert.Regexp(t, `^备份文件无法读取，不是SQLite数据库 backup: .* is not a readable SQLite database`, err.Error(), "Chinese first")
	assert.Equal(t, backedUp+1, transactions(db), "nothing replaced")

	out, err = runCmd("restore", "--from", backup, "--db", db, "--force")
	require.NoError(t, err, out)
	assert.Equal(t, backedUp, transactions(db), "the posting after the backup is gone with --force")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".restoring", "no leftovers")
	}
}

// commandRunner runs command lines as main does, returning what each
// printed on standard output.
func commandRunner(ctx context.Context) func(args ...string) (string, error) {
	return func(args ...string) (string, error) {
		var out bytes.Buffer
		err := run(ctx, args, &out, io.Discard)
		return out.String(), err
	}
}

// TestRestoreRefusesLiveDatabase: restore --force never replaces a
// database a server is running on: one a running App holds (the lock serve
// takes beside the file), or one whose scheduler lease is held and
// unexpired (a server without the lock, or killed a moment ago); the
// refusal names the holder and until when. An expired lease is no bar.
func TestRestoreRefusesLiveDatabase(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	runCmd := commandRunner(ctx)
	backup := filepath.Join(dir, "backup.db")

	live := filepath.Join(dir, "live.db")
	app := mustRun(t, Config{Addr: "127.0.0.1:0", DB: live, Demo: true})
	out, err := runCmd("backup", "--db", live, "--out", backup)
	require.NoError(t, err, out)
	_, err = runCmd("restore", "--from", backup, "--db", live, "--force")
	require.Error(t, err, "a running server's database is not replaced")
	assert.Contains(t, err.Error(), "请先停止 huangong serve")
	status, _ := client{tb: t, base: "http://" + app.Addr()}.do("GET", "/v1/village", app.DemoTokens[store.RoleCadre], nil)
	assert.Equal(t, 200, status, "the server still serves its database")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		assert.NotContains(t, e.Name(), ".restoring", "nothing was copied beside it")
	}

	leased := filepath.Join(dir, "leased.db")
	_, err = runCmd("seed", "--db", leased)
	require.NoError(t, err)
	setLease := func(now time.Time) {
		st, err := store.Open(ctx, leased)
		require.NoError(t, err)
		defer st.Close()
		ok, err := st.AcquireLease(ctx, "村部电脑:4242", now, 2*time.Minute)
		require.NoError(t, err)
		require.True(t, ok)
	}
	setLease(time.Now())
	_, err = runCmd("restore", "--from", backup, "--db", leased, "--force")
	require.Error(t, err, "a held lease: a server may be running")
	assert.Contains(t, err.Error(), "调度租约由 村部电脑:4242 持有")
	assert.Contains(t, err.Error(), "held by 村部电脑:4242 until")

	setLease(time.Now().Add(-time.Hour)) // the holder stopped long ago
	out, err = runCmd("restore", "--from", backup, "--db", leased, "--force")
	require.NoError(t, err, out)
	assert.Contains(t, out, "已恢复")
}

// TestBackupUsageChineseFirst: the operator's mistakes with backup and
// restore are told Chinese first, English beside.
func TestBackupUsageChineseFirst(t *testing.T) {
	runCmd := commandRunner(context.Background())
	dir := t.TempDir()
	for _, args := range [][]string{
		{"backup", "--db", filepath.Join(dir, "a.db")},
		{"backup", "--db", "postgres://localhost/huangong", "--out", filepath.Join(dir, "pg.db")},
		{"backup", "--db", filepath.Join(dir, "missing.db"), "--out", filepath.Join(dir, "m.db")},
		{"restore", "--db", filepath.Join(dir, "a.db")},
		{"restore", "--from", filepath.Join(dir, "missing.db"), "--db", filepath.Join(dir, "a.db")},
		{"restore", "--from", filepath.Join(dir, "x.db"), "--db", "file:a.db?mode=memory"},
	} {
		_, err := runCmd(args...)
		if assert.Error(t, err, "%v", args) {
			assert.Regexp(t, `^\p{Han}`, err.Error(), "%v: Chinese first", args)
			assert.Regexp(t, `[a-z]{3,} `, err.Error(), "%v: English beside", args)
		}
	}
}
