package api

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/scheduler"
	"huangong/scheduler/planner"
	"huangong/store"
)

// PlanInput asks for a plan of a season or of a date range.
type PlanInput struct {
	SeasonID int64  `json:"seasonId,omitempty" minimum:"1" example:"1" doc:"Plan this season's open requests; or give from and to instead 按农时安排（与起止日期二选一）"`
	From     string `json:"from,omitempty" format:"date" example:"2026-04-20" doc:"First day of a date range: the open requests whose window meets it 起始日期"`
	To       string `json:"to,omitempty" format:"date" example:"2026-04-30" doc:"Last day of the range, with from 截止日期"`
	DryRun   bool   `json:"dryRun" example:"true" doc:"true: answer with the proposal and save nothing; false: save it 仅预览不保存"`
}

// ProposedJob is one job of a plan.
type ProposedJob struct {
	ID          int64           `json:"id,omitempty" example:"31" doc:"The saved job; absent on a dry run 派工编号（预览时无）"`
	TeamID      int64           `json:"teamId" example:"1" doc:"Team sent 互助队"`
	RequestID   int64           `json:"requestId" example:"3" doc:"The help request 求助"`
	HouseholdID int64           `json:"householdId" example:"1" doc:"The household helped 受助户"`
	FieldID     int64           `json:"fieldId" example:"7" doc:"The field 田块"`
	Task        string          `json:"task" enum:"prepare,transplant,harvest" example:"transplant" doc:"Task 农活"`
	Date        string          `json:"date" format:"date" example:"2026-04-21" doc:"The day of the work 派工日期"`
	Workers     []PlannedWorker `json:"workers" doc:"Member households sent and how many of their people 计划出工"`
	Workdays    float64         `json:"workdays" example:"2.5" doc:"The work planned on the day, in half-day steps 计划工日"`
	Late        bool            `json:"late" example:"false" doc:"After the request's due date: no day inside its window was left 晚于求助期限"`
}

// UnplacedRequest is a request the plan could not place, and why.
type UnplacedRequest struct {
	RequestID int64  `json:"requestId" example:"12" doc:"The request, left submitted 未能安排的求助"`
	Reason    string `json:"reason" example:"not enough free team members from 2026-04-20 to 2026-05-10 截止前互助队人手不足" doc:"Why 原因"`
}

// LateRequest is a request the plan finishes after its due date.
type LateRequest struct {
	RequestID int64 `json:"requestId" example:"12" doc:"The request 求助"`
	Days      int   `json:"days" example:"2" doc:"Days its last job falls after the due date 超期天数"`
}

// PlanChange is a saved job the plan does not keep as it was.
type PlanChange struct {
	RequestID int64  `json:"requestId" example:"3" doc:"The help request 求助"`
	TeamID    int64  `json:"teamId" example:"1" doc:"The team of the saved job 原派工的互助队"`
	Date      string `json:"date" format:"date" example:"2026-04-22" doc:"The day of the saved job 原派工日期"`
	Kind      string `json:"kind" enum:"moved,workers" example:"moved" doc:"moved: the work of that day went to another day or team (or the request is no longer placed); workers: the same day and team with other workers 调整方式：改期或换人"`
	Reason    string `json:"reason" enum:"blocked,worker,dates,crew,work,precedence,request,more-finished" example:"blocked" doc:"Why, as a code 原因代码"`
	Message   string `json:"message" example:"2026-04-22 停工 the day is blocked" doc:"Why, in words 原因"`
}

// PlanCounts are what the plan does to the saved jobs. On a dry run kept
// and created are what saving would do as far as the plan can tell.
type PlanCounts struct {
	Kept           int `json:"kept" example:"40" doc:"Saved jobs left exactly as they were 保持不变的派工"`
	Moved          int `json:"moved" example:"3" doc:"Saved jobs moved to another day or team, or dropped 改期的派工"`
	WorkersChanged int `json:"workersChanged" example:"1" doc:"Saved jobs kept on their day and team with other workers 换人的派工"`
	Created        int `json:"created" example:"5" doc:"Jobs made new 新增派工"`
	Cancelled      int `json:"cancelled" example:"3" doc:"Saved jobs cancelled; 0 on a dry run 取消的派工"`
}

// PlanScore is a plan's value term by term, in the order plans are compared.
type PlanScore struct {
	FinishedWeighted   int64   `json:"finishedWeighted" example:"30" doc:"Σ priority over the requests all done inside their windows: maximised first 按期完成的加权求助数"`
	ChangeCost         int64   `json:"changeCost" example:"4" doc:"How far the plan moves from the saved one: 4 a job moved, 1 a job with other workers; minimised next 变动代价"`
	Finished           int     `json:"finished" example:"12" doc:"Requests all done inside their windows 按期完成的求助数"`
	InWindowWeighted   int64   `json:"inWindowWeighted" example:"180" doc:"Σ priority × half days worked inside windows: maximised first 窗口内加权工作量"`
	UnplacedWorkdays   float64 `json:"unplacedWorkdays" example:"0" doc:"Work of the requests left unplaced 未安排工日"`
	LateWeighted       int64   `json:"lateWeighted" example:"0" doc:"Σ priority × half days × days late: minimised next 加权超期量"`
	BalanceTerm        int64   `json:"balanceTerm" example:"40" doc:"Σ balance² (half days²) after the plan: falls as those who owe help give it 工日余额平方和"`
	SameGroupWorkdays  float64 `json:"sameGroupWorkdays" example:"20" doc:"Work done in the worker's own village group 本组出工工日"`
	LoadSpreadWorkdays float64 `json:"loadSpreadWorkdays" example:"1.5" doc:"Most minus least work of a team 各队工作量差"`
	InWindowWorkdays   float64 `json:"inWindowWorkdays" example:"60" doc:"Work inside windows 窗口内工日"`
	LateWorkdays       float64 `json:"lateWorkdays" example:"0" doc:"Work after due dates 超期工日"`
	PlannedWorkdays    float64 `json:"plannedWorkdays" example:"60" doc:"All the work, kept jobs included 计划总工日"`
	MaxAbsBalance      float64 `json:"maxAbsBalance" example:"3" doc:"Largest |balance| of a member household after the plan, workdays 队员户最大余额绝对值"`
	SumAbsBalance      float64 `json:"sumAbsBalance" example:"12.5" doc:"Σ |balance| of member households after the plan, workdays 队员户余额绝对值之和"`
}

// PlanBound is the most any plan could put inside windows.
type PlanBound struct {
	Finished int64   `json:"finished" example:"32" doc:"Bound on finishedWeighted 按期完成上界"`
	Weighted int64   `json:"weighted" example:"185" doc:"Bound on inWindowWeighted 加权上界"`
	Workdays float64 `json:"workdays" example:"62" doc:"Bound on inWindowWorkdays 工日上界"`
}

// PlanBody is a plan: proposed, or saved.
type PlanBody struct {
	DryRun bool   `json:"dryRun" example:"false" doc:"true: nothing was saved 仅预览"`
	Start  string `json:"start" format:"date" example:"2026-04-20" doc:"First day planned: the scope's, or today if later 计划起始日"`
	End    string `json:"end" format:"date" example:"2026-05-10" doc:"Last day planned 计划截止日"`
	// The new jobs; jobs kept as they are only count.
	Jobs            []ProposedJob     `json:"jobs" doc:"The jobs of the requests planned, by date and team: saved ones kept and new ones 派工"`
	FixedJobs       int               `json:"fixedJobs" example:"4" doc:"Jobs kept as they are: confirmed or done, or of requests not planned again 保留不动的派工数"`
	Changes         []PlanChange      `json:"changes" doc:"Saved unconfirmed jobs the plan does not keep as they were, and why; a saved job not listed is kept 调整的派工及原因"`
	Counts          PlanCounts        `json:"counts"`
	Unplaced        []UnplacedRequest `json:"unplaced" doc:"Requests the plan could not place; they stay submitted 未能安排的求助"`
	Late            []LateRequest     `json:"late" doc:"Requests finished after their due date 超期完成的求助"`
	Score           PlanScore         `json:"score"`
	Bound           PlanBound         `json:"bound"`
	InWindowRatio   float64           `json:"inWindowRatio" example:"0.97" doc:"score.inWindowWeighted ÷ bound.weighted, 0 to 1: 1 is the best any plan could do 窗口内完成率（相对上界）"`
	JobIDs          []int64           `json:"jobIds" example:"[31,32]" doc:"The saved jobs, one per new job; empty on a dry run 已保存的派工编号"`
	CancelledJobIDs []int64           `json:"cancelledJobIds" example:"[27]" doc:"Unconfirmed jobs the plan replaced; empty on a dry run 被替换的未确认派工"`
}

// TransformSchema describes the type itself rather than the property that
// holds it: OpenAPI 3.0 ignores a description beside a $ref.
func (PlanBody) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.Description = "派工计划：预览或已保存 A plan of the teams' jobs: proposed (dryRun) or saved"
	return s
}

// BlockInput marks rained-out days.
type BlockInput struct {
	Dates  []string `json:"dates" minItems:"1" maxItems:"31" uniqueItems:"true" format:"date" example:"[\"2026-04-22\"]" doc:"Days no field can be worked 停工日期"`
	Group  int      `json:"group,omitempty" minimum:"0" maximum:"999" example:"0" doc:"One village group's fields, or 0 (absent) for the whole village 村民小组（0为全村）"`
	Reason string   `json:"reason" minLength:"1" maxLength:"200" example:"大雨" doc:"Why 原因"`
	DryRun bool     `json:"dryRun,omitempty" example:"false" doc:"Only say what would be cancelled (jobs, households); nothing is written 只预览，不登记"`
}

// BlockedDay is a day no field can be worked.
type BlockedDay struct {
	Date      string    `json:"date" format:"date" example:"2026-04-22" doc:"The day 日期"`
	Group     int       `json:"group" example:"0" doc:"The village group, or 0 for the whole village 村民小组（0为全村）"`
	Reason    string    `json:"reason" example:"大雨" doc:"Why 原因"`
	CreatedBy string    `json:"createdBy" example:"cadre#token1" doc:"Who blocked it 登记人"`
	CreatedAt time.Time `json:"createdAt" example:"2026-04-21T23:10:00Z" doc:"Recorded 登记时间"`
}

func blockedDayOf(b *store.BlockedDay) BlockedDay {
	return BlockedDay{Date: b.Date, Group: b.Group, Reason: b.Reason, CreatedBy: b.CreatedBy, CreatedAt: b.CreatedAt}
}

// SeasonReplan is a season planned again after days were blocked.
type SeasonReplan struct {
	SeasonID int64     `json:"seasonId" example:"1" doc:"The season 农时"`
	Plan     *PlanBody `json:"plan,omitempty"`
	Error    string    `json:"error,omitempty" example:"记录已变动，请重新排计划 the plan no longer fits the records: job 27 changed; run the plan again" doc:"Why the season could not be planned again; the days are blocked all the same, and run-plan retries 重新安排失败的原因"`
}

// BlockBody is what blocking days did.
type BlockBody struct {
	Blocked    []BlockedDay   `json:"blocked" doc:"The days, as recorded; a day blocked before keeps its first reason 停工日"`
	Cancelled  []Job          `json:"cancelled" doc:"Scheduled and confirmed jobs on those days, now cancelled 已取消的派工"`
	Replans    []SeasonReplan `json:"replans" doc:"The open or planned seasons the days fall in, planned again 重新安排的农时"`
	Households int            `json:"households" example:"3" doc:"How many households the cancelled jobs were for 涉及农户数"`
	DryRun     bool           `json:"dryRun" example:"false" doc:"True when nothing was written: blocked, cancelled and households say what would be 仅预览"`
}

// blockOutput answers 201 when days were blocked, 200 for a dry run.
type blockOutput struct {
	Status int
	Body   BlockBody
}

// UnblockBody is what taking back a blocked day did.
type UnblockBody struct {
	Unblocked BlockedDay     `json:"unblocked"`
	Replans   []SeasonReplan `json:"replans" doc:"The open or planned seasons the day falls in, planned again 重新安排的农时"`
}

// replanDays plans again, with the re-plan's budget, each open or planned
// season not yet over that one of the dates falls in. A season that
// cannot be planned now says why (run-plan retries); other errors stop.
func (s *Server) replanDays(ctx context.Context, villageID int64, dates []string) ([]SeasonReplan, error) {
	out := []SeasonReplan{}
	today, err := s.today(ctx, villageID)
	if err != nil {
		return nil, err
	}
	seasons, err := s.store.ListSeasons(ctx, villageID, 0)
	if err != nil {
		return nil, err
	}
	for _, se := range seasons {
		covers := slices.ContainsFunc(dates, func(d string) bool { return se.StartDate <= d && d <= se.EndDate })
		if se.State == store.SeasonClosed || se.EndDate < today || !covers {
			continue
		}
		rp := SeasonReplan{SeasonID: se.ID}
		rp.Plan, err = s.runPlan(ctx, store.PlanScope{SeasonID: se.ID}, planner.Options{Iterations: planner.ReplanIterations}, false)
		var se huma.StatusError
		if code := store.ErrorCode(err); code == store.EINVALID || code == store.ECONFLICT {
			rp.Error = store.ErrorMessage(err)
		} else if errors.As(err, &se) && se.GetStatus() == http.StatusServiceUnavailable {
			rp.Error = se.Error()
		} else if err != nil {
			return nil, err
		}
		out = append(out, rp)
	}
	return out, nil
}

func (s *Server) addPlanRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "run-plan", Method: http.MethodPost, Path: "/v1/plan",
		Summary: "排派工计划 Plan the teams' jobs", Tags: []string{"plan"}, Security: secured(store.RoleCadre),
		Description: "Plans the open requests of a season (seasonId) or of a date range (from and to; exactly one of the two, " +
			"else 422 naming the field) from today on: each team's daily capacity, one job a day for a member, precedence on " +
			"a field, blocked days and windows are kept; work inside windows, by priority, comes first, then less lateness, " +
			"then workers from the households that owe help. Requests that are confirmed or have a confirmed job are not " +
			"planned again and their jobs are kept, as are unconfirmed jobs inside the village's freeze horizon (freezeDays). " +
			"A re-plan keeps the saved jobs where it can; changes lists those it moves or gives other workers, and why. " +
			"With dryRun the proposal is returned and nothing is saved; otherwise a saved job the plan keeps stays untouched, " +
			"one kept with other workers is changed in place, the others are cancelled and the new ones created; the requests " +
			"placed are scheduled, and each household and team whose jobs changed gets one notice of the changes. If the " +
			"records change while the plan is saved, 409; if planning takes too long, 503 and nothing is saved. " +
			"按农时或日期范围排计划；dryRun只预览；尽量保留已有派工，只调整必须调整的，每户每队一条通知。",
		Errors: []int{400, 401, 403, 409, 413, 415, 422, 503},
	}, func(ctx context.Context, in *struct{ Body PlanInput }) (*struct{ Body PlanBody }, error) {
		b := in.Body
		body, err := s.runPlan(ctx, store.PlanScope{SeasonID: b.SeasonID, From: b.From, To: b.To}, planner.Options{}, b.DryRun)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body PlanBody }{Body: *body}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "block-days", Method: http.MethodPost, Path: "/v1/blocked-days",
		Summary: "雨天停工 Mark rained-out days and plan again", Tags: []string{"plan"}, Security: secured(store.RoleCadre),
		Description: "登记停工日，取消当天派工并通知，随后重新安排所在农时。 Blocks the days for the whole village or one village group and cancels the scheduled and confirmed jobs " +
			"on them (on the group's fields), telling each team and household; a request left with no job goes back to " +
			"submitted. Then each open or planned season the days fall in is planned again and saved. Blocking a day again " +
			"changes nothing, so a retry is safe. With dryRun nothing is written: the answer (200) names the days, the jobs " +
			"that would be cancelled and how many households they are for, for the cadre to confirm. unblock-day takes a day back.",
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body BlockInput }) (*blockOutput, error) {
		p, b := caller(ctx), in.Body
		block := s.store.BlockDays
		if b.DryRun {
			block = s.store.PreviewBlockDays
			auditStatus(ctx, http.StatusOK)
		}
		blocking, err := block(ctx, p.VillageID, p.String(), b.Dates, b.Group, b.Reason)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &blockOutput{Body: BlockBody{Blocked: make([]BlockedDay, len(blocking.Days)),
			Cancelled: make([]Job, len(blocking.Cancelled)), Replans: []SeasonReplan{},
			Households: len(blocking.Households), DryRun: b.DryRun}}
		out.Status = http.StatusCreated
		if b.DryRun {
			out.Status = http.StatusOK
		}
		for i, d := range blocking.Days {
			out.Body.Blocked[i] = blockedDayOf(d)
		}
		view, err := s.jobViews(ctx, blocking.Cancelled...)
		if err != nil {
			return nil, err
		}
		for i, j := range blocking.Cancelled {
			out.Body.Cancelled[i] = view(j)
		}
		if b.DryRun {
			return out, nil
		}
		if out.Body.Replans, err = s.replanDays(ctx, p.VillageID, b.Dates); err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "unblock-day", Method: http.MethodDelete, Path: "/v1/blocked-days/{date}",
		Summary: "撤销停工日 Take back a rained-out day and plan again", Tags: []string{"plan"}, Security: secured(store.RoleCadre),
		Description: "撤销停工日，随后重新安排所在农时。 Takes back a blocked day for the whole village (group 0 or absent) or one " +
			"village group — the rain did not come, or the day was a slip — and plans each open or planned season it " +
			"falls in again, so the day can be worked. The jobs the block cancelled stay cancelled (their households " +
			"were told); the re-plan places the requests again. A day not blocked (for that group) is 404.",
		Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		Date  string `path:"date" format:"date" example:"2026-04-22" doc:"The blocked day 停工日期"`
		Group int    `query:"group" minimum:"0" maximum:"999" example:"0" doc:"The village group it was blocked for, or 0 (absent) for the whole village 村民小组（0为全村）"`
	}) (*struct{ Body UnblockBody }, error) {
		p := caller(ctx)
		b, err := s.store.UnblockDay(ctx, p.VillageID, in.Date, in.Group)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body UnblockBody }{Body: UnblockBody{Unblocked: blockedDayOf(b)}}
		if out.Body.Replans, err = s.replanDays(ctx, p.VillageID, []string{b.Date}); err != nil {
			return nil, s.problem(ctx, err)
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-blocked-days", Method: http.MethodGet, Path: "/v1/blocked-days",
		Summary: "停工日列表 List blocked days", Tags: []string{"plan"},
		Description: "本村停工日。 The village's rained-out days by date, for the whole village (group 0) or one village group.",
		Security:    secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		From string `query:"from" format:"date" example:"2026-04-01" doc:"First date 起始日期"`
		To   string `query:"to" format:"date" example:"2026-04-30" doc:"Last date 截止日期"`
	}) (*ListOutput[BlockedDay], error) {
		rows, err := s.store.ListBlockedDays(ctx, caller(ctx).VillageID, in.From, in.To)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, 0, blockedDayOf), nil
	})
}

// DefaultPlanTimeout bounds one plan run, below the server's 60 s write
// timeout (cmd/huangong) so that the caller hears 503, not a cut line.
const DefaultPlanTimeout = 50 * time.Second

// planTimeout is the 503 of a plan run past its deadline.
func planTimeout() huma.StatusError {
	return huma.Error503ServiceUnavailable("计划超时 planning took too long; nothing was saved, try again or plan a shorter range")
}

// runPlan plans a scope and, unless dryRun, saves the plan, all within
// s.PlanTimeout; past it the answer is planTimeout and nothing is saved
// (the save is one transaction, rolled back when its context ends).
func (s *Server) runPlan(ctx context.Context, scope store.PlanScope, opts planner.Options, dryRun bool) (*PlanBody, error) {
	ctx, cancel := context.WithTimeout(ctx, s.PlanTimeout)
	defer cancel()
	late := func(err error) error {
		if ctx.Err() != nil {
			return planTimeout()
		}
		return err
	}
	p := caller(ctx)
	in, err := scheduler.PlanInstance(ctx, s.store, p.VillageID, scope)
	if err != nil {
		return nil, late(err)
	}
	plan, err := scheduler.SolveVillage(ctx, in, opts)
	if err != nil || ctx.Err() != nil {
		return nil, late(err)
	}
	body := planBodyOf(in, plan)
	body.DryRun = dryRun
	if dryRun {
		return body, nil
	}
	res, err := scheduler.ApplyPlan(ctx, s.store, p.VillageID, p.String(), scope, plan)
	if err != nil {
		return nil, late(err)
	}
	for i, j := range res.Jobs {
		body.Jobs[i].ID = j.ID
		body.JobIDs = append(body.JobIDs, j.ID)
	}
	for _, j := range res.Cancelled {
		body.CancelledJobIDs = append(body.CancelledJobIDs, j.ID)
	}
	body.Counts.Kept, body.Counts.WorkersChanged = res.Kept, res.WorkersChanged
	body.Counts.Created, body.Counts.Cancelled = res.Created, len(res.Cancelled)
	return body, nil
}

// planBodyOf shows a plan of an instance.
func planBodyOf(in planner.Instance, plan planner.Plan) *PlanBody {
	reqs := make(map[int64]*planner.Request, len(in.Requests))
	for i := range in.Requests {
		reqs[in.Requests[i].ID] = &in.Requests[i]
	}
	sc := plan.Score
	out := &PlanBody{Start: in.Start, End: in.End, Jobs: []ProposedJob{}, Unplaced: make([]UnplacedRequest, len(plan.Unplaced)),
		Late: make([]LateRequest, len(plan.Late)), JobIDs: []int64{}, CancelledJobIDs: []int64{},
		Score: PlanScore{
			FinishedWeighted: sc.FinishedWeighted, ChangeCost: sc.ChangeCost, Finished: sc.Finished,
			InWindowWeighted: sc.InWindowWeighted, UnplacedWorkdays: workdays(sc.UnplacedHalfDays), LateWeighted: sc.LateWeighted,
			BalanceTerm: sc.BalanceTerm, SameGroupWorkdays: workdays(sc.SameGroup), LoadSpreadWorkdays: workdays(sc.LoadSpread),
			InWindowWorkdays: workdays(sc.InWindowHalfDays), LateWorkdays: workdays(sc.LateHalfDays),
			PlannedWorkdays: workdays(sc.PlannedHalfDays), MaxAbsBalance: workdays(sc.MaxAbsBalance), SumAbsBalance: workdays(sc.SumAbsBalance),
		},
		Bound:         PlanBound{Finished: plan.Bound.Finished, Weighted: plan.Bound.Weighted, Workdays: workdays(plan.Bound.HalfDays)},
		Changes:       make([]PlanChange, len(plan.Changes)),
		InWindowRatio: 1,
	}
	if plan.Bound.Weighted > 0 {
		out.InWindowRatio = math.Round(float64(sc.InWindowWeighted)/float64(plan.Bound.Weighted)*1e4) / 1e4
	}
	for _, a := range plan.Assignments {
		if a.Fixed {
			out.FixedJobs++
			continue
		}
		r := reqs[a.Request]
		j := ProposedJob{TeamID: a.Team, RequestID: a.Request, HouseholdID: r.Household, FieldID: r.Field, Task: r.Task,
			Date: a.Date, Workdays: workdays(a.HalfDays()), Late: a.Date > r.Latest}
		for _, w := range scheduler.PlannedWorkers(a.Workers) {
			j.Workers = append(j.Workers, PlannedWorker{HouseholdID: w.HouseholdID, Workers: w.Workers})
		}
		out.Jobs = append(out.Jobs, j)
	}
	for i, c := range plan.Changes {
		out.Changes[i] = PlanChange{RequestID: c.Request, TeamID: c.Team, Date: c.Date, Kind: c.Kind, Reason: c.Reason, Message: c.Message}
	}
	out.Counts = countsOf(in, plan)
	for i, u := range plan.Unplaced {
		out.Unplaced[i] = UnplacedRequest{RequestID: u.Request, Reason: u.Reason}
	}
	for i, l := range plan.Late {
		out.Late[i] = LateRequest{RequestID: l.Request, Days: l.Days}
	}
	return out
}

// countsOf is what saving the plan does to the saved jobs, matched as
// the store's SavePlan matches them: a new assignment saying what a saved job says
// keeps it; one on the same request, day and team changes its workers;
// the other assignments are new and the saved jobs left over move.
func countsOf(in planner.Instance, plan planner.Plan) PlanCounts {
	type day struct {
		request, team int64
		date          string
	}
	exact, same := map[string]int{}, map[day]int{}
	for _, a := range in.Previous {
		exact[jobKey(a)]++
		same[day{a.Request, a.Team, a.Date}]++
	}
	var c PlanCounts
	var rest []planner.Assignment
	for _, a := range plan.Assignments {
		if a.Fixed {
			continue
		}
		if k := jobKey(a); exact[k] > 0 {
			exact[k]--
			same[day{a.Request, a.Team, a.Date}]--
			c.Kept++
		} else {
			rest = append(rest, a)
		}
	}
	for _, a := range rest {
		if d := (day{a.Request, a.Team, a.Date}); same[d] > 0 {
			same[d]--
			c.WorkersChanged++
		} else {
			c.Created++
		}
	}
	c.Moved = len(in.Previous) - c.Kept - c.WorkersChanged
	return c
}

// jobKey names an assignment by request, team, day and the people sent.
func jobKey(a planner.Assignment) string {
	return fmt.Sprintf("%d/%d/%s/%v", a.Request, a.Team, a.Date, scheduler.PlannedWorkers(a.Workers))
}
