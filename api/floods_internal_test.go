package api

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
)

// TestFloodsHoldAFewAddressesLineByLine: a flood from more addresses in a
// minute than floodAddrs holds at most floodAddrs lines (and one shared)
// in memory, writes at most floodAddrs first lines, and still counts every
// denial.
func TestFloodsHoldAFewAddressesLineByLine(t *testing.T) {
	old := floodAddrs
	floodAddrs = 5
	t.Cleanup(func() { floodAddrs = old })
	st, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "floods.db"))
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	now := time.Date(2026, 4, 20, 8, 0, 30, 0, time.UTC)
	f := newFloods(st, func(string, ...any) {}, func() time.Time { return now })

	const addrs, each = 40, 3
	written := 0
	for i := range addrs {
		for range each {
			if f.record("198.51.100."+strconv.Itoa(i), &store.AuditEntry{Status: 401}) {
				written++
			}
		}
	}
	f.mu.Lock()
	held := len(f.pending)
	f.mu.Unlock()
	assert.LessOrEqual(t, held, floodAddrs+1, "the minute holds the cap and the shared line")
	assert.Equal(t, floodAddrs, written, "a first line each for the first addresses only")

	f.close()
	var lines int
	var counted int64
	require.NoError(t, st.DB().QueryRow("SELECT COUNT(*), COALESCE(SUM(count), 0) FROM audit_log").Scan(&lines, &counted))
	assert.LessOrEqual(t, lines, floodAddrs+1)
	assert.EqualValues(t, addrs*each, int64(written)+counted, "every denial is counted")
	var other int
	require.NoError(t, st.DB().QueryRow("SELECT COUNT(*) FROM audit_log WHERE target = ?", otherAddrs).Scan(&other))
	assert.Equal(t, 1, other, "the rest share one line")
}
