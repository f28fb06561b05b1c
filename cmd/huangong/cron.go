package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"huangong/store"
)

func cronCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "list" {
		return fmt.Errorf("usage: huangong cron list [--db …] [--village ID] [--job JOB] [--state STATE] [--season ID]")
	}
	fs, db := newFlags("cron list")
	village := fs.Int64("village", 0, "village ID; default the only village, else the demo village")
	job := fs.String("job", "", "只看某任务 only this job: plan, morning, overdue, feedback, notice, close")
	state := fs.String("state", "", "只看某状态 only this state: running, succeeded, failed, missed")
	season := fs.Int64("season", 0, "只看某农时 only this season")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := store.Open(ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	v, err := pickVillage(ctx, st, *village)
	if err != nil {
		return err
	}
	var runs []*store.Run
	p := store.Page{Limit: store.MaxPageLimit}
	for {
		page, next, err := st.ListRuns(ctx, v.ID, store.RunFilter{Job: *job, State: *state, SeasonID: *season}, p)
		if err != nil {
			return err
		}
		runs = append(runs, page...)
		if next == 0 {
			break
		}
		p.After = next
	}
	return printRuns(stdout, v, runs)
}

// runStates shows a run's state in both languages.
var runStates = map[string]string{
	store.RunRunning: "运行中 running", store.RunSucceeded: "成功 succeeded",
	store.RunFailed: "失败 failed", store.RunMissed: "错过 missed",
}

// printRuns writes the runs as a table, times in the village's timezone.
func printRuns(w io.Writer, v *store.Village, runs []*store.Run) error {
	loc := v.Location()
	fmt.Fprintf(w, "%s (id %d) 定时任务记录 schedule runs — 时间为 times in %s\n", v.Name, v.ID, v.Timezone)
	if len(runs) == 0 {
		_, err := fmt.Fprintln(w, "（无记录 no runs）")
		return err
	}
	at := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.In(loc).Format(time.DateTime)
	}
	rows := [][]string{{"编号 ID", "农时 season", "任务 job", "计划时间 scheduled", "状态 state", "开始 started", "结束 finished", "说明 error"}}
	for _, r := range runs {
		msg := strings.Join(strings.Fields(r.Error), " ") // one line a run
		rows = append(rows, []string{strconv.FormatInt(r.ID, 10), strconv.FormatInt(r.SeasonID, 10), r.Job,
			r.ScheduledAt.In(loc).Format("2006-01-02 15:04"), runStates[r.State], at(r.StartedAt), at(r.FinishedAt), msg})
	}
	return printTable(w, rows)
}
