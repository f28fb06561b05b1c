package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"huangong/scheduler"
	"huangong/store"
	"huangong/store/testdb"
)

func TestCronList(t *testing.T) {
	ctx := context.Background()
	db := testdb.Database(t, "cron.db")
	runCmd := commandRunner(ctx)

	st, err := store.Open(ctx, db)
	require.NoError(t, err)
	v := &store.Village{Name: "皇珠村", County: "玉山县", Township: "四股桥乡"}
	require.NoError(t, st.CreateVillage(ctx, v))
	out, err := runCmd("cron", "list", "--db", db)
	require.NoError(t, err)
	assert.Contains(t, out, "无记录 no runs")

	se := &store.Season{VillageID: v.ID, Kind: store.SeasonSpring, StartDate: "2026-04-20", EndDate: "2026-05-10",
		Tasks: []string{store.TaskTransplant}, Crons: map[string]string{scheduler.CronOverdue: "0 9 * * *"}}
	require.NoError(t, st.CreateSeason(ctx, se))
	_, err = st.UpdateSeason(ctx, v.ID, se.ID, 0, func(se *store.Season) error { se.State = store.SeasonOpen; return nil })
	require.NoError(t, err)
	// A day in the village, ticked from a stopped clock; the sweep fails.
	now := time.Date(2026, 4, 20, 23, 0, 0, 0, time.FixedZone("CST", 8*3600))
	st.Now = func() time.Time { return now }
	s := scheduler.NewScheduler(st, scheduler.CronOptions{Holder: "test", Now: st.Now})
	s.Handle(scheduler.CronOverdue, func(context.Context, *store.Village, *store.Season, time.Time) error {
		return errors.New("数据库忙\ndatabase busy")
	})
	require.NoError(t, s.Tick(ctx, now))
	require.NoError(t, st.Close())

	out, err = runCmd("cron", "list", "--db", db)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2+5, out) // title, header, plan morning overdue feedback notice
	assert.Contains(t, lines[0], "皇珠村")
	assert.Contains(t, lines[0], "Asia/Shanghai")
	header, rows := lines[1], lines[2:]
	for _, h := range []string{"编号 ID", "农时 season", "任务 job", "计划时间 scheduled", "状态 state", "开始 started", "结束 finished", "说明 error"} {
		assert.Contains(t, header, h)
	}
	// Times are the village's; the rows follow the slots.
	for i, want := range []struct{ job, slot, state string }{
		{"morning", "2026-04-20 06:00", "成功 succeeded"},
		{"feedback", "2026-04-20 06:30", "成功 succeeded"},
		{"notice", "2026-04-20 08:00", "成功 succeeded"},
		{"overdue", "2026-04-20 09:00", "失败 failed"},
		{"plan", "2026-04-20 20:00", "成功 succeeded"},
	} {
		assert.Contains(t, rows[i], want.job)
		assert.Contains(t, rows[i], want.slot)
		assert.Contains(t, rows[i], want.state)
	}
	assert.True(t, strings.HasSuffix(rows[3], "数据库忙 database busy"), "the error on one line: %q", rows[3])

	// Every column starts at the same terminal column on every line, the
	// Chinese headings counting two columns a character.
	col := func(line, cell string) int {
		i := strings.Index(line, cell)
		require.GreaterOrEqual(t, i, 0, "%q in %q", cell, line)
		return displayWidth(line[:i])
	}
	for _, c := range []struct{ heading, sample string }{
		{"任务 job", "morning"}, {"计划时间 scheduled", "2026-04-20 06:00"}, {"状态 state", "成功"}, {"开始 started", "2026-04-20 23:00:00"},
	} {
		assert.Equal(t, col(header, c.heading), col(rows[0], c.sample), "column %s", c.heading)
	}
	assert.Equal(t, col(rows[0], "成功"), col(rows[3], "失败"))

	out, err = runCmd("cron", "list", "--db", db, "--state", "failed")
	require.NoError(t, err)
	assert.Equal(t, 3, strings.Count(out, "\n"), out)
	_, err = runCmd("cron", "list", "--db", db, "--state", "asleep")
	assert.Equal(t, store.EINVALID, store.ErrorCode(err))
	_, err = runCmd("cron", "show", "--db", db)
	assert.ErrorContains(t, err, "usage")
}

func TestDisplayWidth(t *testing.T) {
	for s, want := range map[string]int{"": 0, "abc": 3, "农时": 4, "农时 season": 11, "（无）": 6, "2026-04-20": 10} {
		assert.Equal(t, want, displayWidth(s), s)
	}
}
