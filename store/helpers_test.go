package store_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/store"
	"huangong/store/storetest"
)

// Fixtures shared with the tests of the packages built on store.
var (
	t0            = storetest.T0
	MustOpen      = storetest.MustOpen
	MustOpenAt    = storetest.MustOpenAt
	SetClock      = storetest.SetClock
	MustVillage   = storetest.MustVillage
	MustHousehold = storetest.MustHousehold
	MustField     = storetest.MustField
	MustTeam      = storetest.MustTeam
	MustMember    = storetest.MustMember
	CountRows     = storetest.CountRows
	AssertError   = storetest.AssertError
)

// Clock is a stopped clock that a test moves by hand.
type Clock = storetest.Clock

// AssertSameTime checks two instants are the same, whatever their zones.
func AssertSameTime(tb testing.TB, want, got time.Time, what string) bool {
	tb.Helper()
	return assert.True(tb, want.Equal(got), "%s: want %v, got %v", what, want, got)
}

// CollectPages follows a list's cursors from the start with pages of
// limit and returns every ID seen, in order, and how many pages it took.
// It fails the test if a page is larger than limit, or if the cursor does
// not end at 0 within a sane number of pages.
func CollectPages[T any](tb testing.TB, limit int, list func(store.Page) ([]*T, int64, error), idOf func(*T) int64) (ids []int64, pages int) {
	tb.Helper()
	p := store.Page{Limit: limit}
	for {
		rows, next, err := list(p)
		require.NoError(tb, err)
		pages++
		require.LessOrEqual(tb, len(rows), limit, "page %d", pages)
		for _, r := range rows {
			ids = append(ids, idOf(r))
		}
		if next == 0 {
			return ids, pages
		}
		require.NotEmpty(tb, rows, "page %d is empty but has a next cursor %d", pages, next)
		require.Equal(tb, idOf(rows[len(rows)-1]), next, "page %d: the cursor is the last ID of the page", pages)
		require.Less(tb, pages, 1000, "pagination does not end")
		p.After = next
	}
}

// PageCases are the record counts each pagination test walks with pages of 3.
var PageCases = []struct {
	n, pages int
}{{0, 1}, {1, 1}, {3, 1}, {6, 2}, {7, 3}}

func pageCaseName(n int) string { return fmt.Sprintf("%d records", n) }
