package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// ScheduleRun is one slot of a season's cron job as the API shows it.
type ScheduleRun struct {
	ID          int64      `json:"id" example:"41" doc:"Run ID 运行编号"`
	SeasonID    int64      `json:"seasonId" example:"1" doc:"The open season the job ran for 农时"`
	Job         string     `json:"job" enum:"plan,morning,overdue,feedback,notice,close" example:"plan" doc:"plan 夜间排派工, morning 早间派工通知, overdue 超期检查, feedback 自动关闭未评价, notice 每周公示, close 农时结算 任务"`
	ScheduledAt time.Time  `json:"scheduledAt" example:"2026-04-20T12:00:00Z" doc:"The slot: the instant the cron spec named, UTC; a slot runs at most once 计划时间"`
	State       string     `json:"state" enum:"running,succeeded,failed,missed" example:"succeeded" doc:"running → succeeded or failed; missed: the service was down past the catch-up window (24 h), or the season had closed 状态"`
	StartedAt   *time.Time `json:"startedAt,omitempty" example:"2026-04-20T12:00:00Z" doc:"When it started; absent when missed 开始时间"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty" example:"2026-04-20T12:00:02Z" doc:"When it ended 结束时间"`
	Error       string     `json:"error,omitempty" example:"panic: assignment to entry in nil map" doc:"Why it failed or was missed 失败或错过的原因"`
}

func scheduleRunOf(r *store.Run) ScheduleRun {
	return ScheduleRun{ID: r.ID, SeasonID: r.SeasonID, Job: r.Job, ScheduledAt: r.ScheduledAt, State: r.State,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Error: r.Error}
}

func (s *Server) addRunRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-schedule-runs", Method: http.MethodGet, Path: "/v1/schedule-runs",
		Summary: "定时任务记录 List the cron jobs' runs", Tags: []string{"calendar"},
		Description: "本村各进行中农时的定时任务运行记录：每个计划时间只运行一次；停机期间错过的，24小时内的补跑，更早的记为错过。 " +
			"Every slot of every open season's cron jobs, in the order recorded: each (job, scheduled time) runs at most " +
			"once, whichever instance runs it; slots missed while the service was down are run on start within 24 hours " +
			"and recorded as missed beyond; a panic or error is a failed run.",
		Security: secured(store.RoleCadre), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		PageInput
		Job    string `query:"job" enum:"plan,morning,overdue,feedback,notice,close" example:"plan" doc:"Only this job 只看某任务"`
		State  string `query:"state" enum:"running,succeeded,failed,missed" example:"failed" doc:"Only this state 只看某状态"`
		Season int64  `query:"season" minimum:"0" example:"1" doc:"Only this season 只看某农时"`
	}) (*ListOutput[ScheduleRun], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		rows, next, err := s.store.ListRuns(ctx, caller(ctx).VillageID,
			store.RunFilter{Job: in.Job, State: in.State, SeasonID: in.Season}, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, next, scheduleRunOf), nil
	})
}
