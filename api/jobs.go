package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// Job is one team's work for one request on one date.
type Job struct {
	ID            int64           `json:"id" example:"9" doc:"Job ID 派工编号"`
	TeamID        int64           `json:"teamId" example:"1" doc:"Team sent 互助队"`
	RequestID     int64           `json:"requestId" example:"3" doc:"The help request 求助"`
	TeamName      string          `json:"teamName" example:"第一互助队" doc:"The team's name 互助队名称"`
	HouseholdID   int64           `json:"householdId" example:"1" doc:"The household helped 受助户"`
	HeadName      string          `json:"headName" example:"廖金生" doc:"Head of the household helped 受助户户主"`
	Phone         string          `json:"phone,omitempty" example:"13879312345" doc:"The household's contact phone, when it gave one: whoever may read the job may call it (the team's leader on the way there) 受助户联系电话"`
	FieldID       int64           `json:"fieldId" example:"7" doc:"The field to work on 田块"`
	FieldName     string          `json:"fieldName" example:"路边田" doc:"The field's name 田块名称"`
	FieldArea     float64         `json:"fieldArea" example:"1.2" doc:"The field's area in mu 田块面积（亩）"`
	Group         int             `json:"group" example:"2" doc:"The field's village group, where it lies 田块所在村民小组"`
	Task          string          `json:"task" enum:"prepare,transplant,harvest" example:"transplant" doc:"Task 农活"`
	Date          string          `json:"date" format:"date" example:"2026-04-21" doc:"The day of the work 派工日期"`
	Due           string          `json:"due" format:"date" example:"2026-04-25" doc:"The request's due date 求助最晚日期"`
	Late          bool            `json:"late" example:"false" doc:"The date is after the request's due date 晚于求助期限"`
	Workers       []PlannedWorker `json:"workers" doc:"Member households planned and how many of their people 计划出工"`
	State         string          `json:"state" enum:"scheduled,confirmed,declined,done,cancelled" example:"done" doc:"scheduled → confirmed → done; or declined, cancelled 状态"`
	DeclineReason string          `json:"declineReason,omitempty" example:"队员都在抢收自家早稻" doc:"Why the leader declined 拒绝原因"`
	Meal          bool            `json:"meal" example:"true" doc:"The helped household hosted a meal (a note, not currency) 是否管饭"`
	Attendance    []JobAttendance `json:"attendance" doc:"Who worked and how long, once done 实际出工"`
	TransactionID *int64          `json:"transactionId,omitempty" example:"12" doc:"The ledger transaction its completion posted 记账编号"`
	CompletedAt   *time.Time      `json:"completedAt,omitempty" example:"2026-04-21T10:05:00Z" doc:"When the attendance was recorded 完工记工时间"`
	Dispute       string          `json:"dispute,omitempty" enum:"open,disputed,confirmed,reversed" example:"open" doc:"Once done: open (the helped household may still dispute the posting), disputed (waiting for a cadre), confirmed (kept by a cadre, or no dispute within 3 days), reversed (a cadre reversed the posting) 异议状态：可提异议、待处理、已确认、已冲正"`
	DisputeUntil  *time.Time      `json:"disputeUntil,omitempty" example:"2026-04-24T10:05:00Z" doc:"Once done: the end of the household's 3-day dispute window 异议截止时间"`
	DisputeReason string          `json:"disputeReason,omitempty" example:"我家只来了一个人" doc:"What the household said was wrong 异议原因"`
	ReversalID    *int64          `json:"reversalId,omitempty" example:"15" doc:"The ledger reversal a cadre posted for the dispute 冲正记账编号"`
	CreatedBy     string          `json:"createdBy" example:"cadre#token1" doc:"Who made it: a cadre, or the planner 派工人"`
	Version       int64           `json:"version" example:"3" doc:"Version 版本号"`
	CreatedAt     time.Time       `json:"createdAt" example:"2026-04-11T12:00:05Z" doc:"Made 派工时间"`
	UpdatedAt     time.Time       `json:"updatedAt" example:"2026-04-21T10:05:00Z" doc:"Last changed 修改时间"`
	Transitions   []Transition    `json:"transitions,omitempty" doc:"Every state change with actor and time (get-job only) 状态变更记录"`
}

// PlannedWorker is a member household a job plans on.
type PlannedWorker struct {
	HouseholdID int64  `json:"householdId" minimum:"1" example:"5" doc:"Member household 队员户"`
	HeadName    string `json:"headName,omitempty" readOnly:"true" example:"徐冬生" doc:"In answers: the household's head 户主（仅答复）"`
	Workers     int    `json:"workers" minimum:"1" maximum:"20" example:"2" doc:"People it sends, up to what it offers a day 出工人数"`
}

// JobAttendance is one household's work on a job.
type JobAttendance struct {
	HouseholdID int64   `json:"householdId" minimum:"1" example:"5" doc:"Household that worked 出工农户"`
	HeadName    string  `json:"headName,omitempty" readOnly:"true" example:"徐冬生" doc:"In answers: the household's head 户主（仅答复）"`
	Workers     int     `json:"workers,omitempty" minimum:"0" maximum:"20" example:"1" doc:"People of the household who came; 0 or absent: the people planned for it, or 1 when it was not planned 出工人数（不填按计划人数，计划外按1人）"`
	Workdays    float64 `json:"workdays" exclusiveMinimum:"0" maximum:"20" multipleOf:"0.5" example:"1" doc:"Workdays, in half-day steps, at most 1 per person on a job-day 工日（半天为单位，每人每个派工日最多1个工日）"`
	Helper      bool    `json:"helper,omitempty" example:"false" doc:"Not a member of the team: a named helper 非本队队员的帮工"`
	Reason      string  `json:"reason,omitempty" maxLength:"200" example:"邻居顺路来帮忙" doc:"Why it worked: required for a household the job did not plan (a named helper, or a member not planned) 计划外出工须写明原因"`
}

func jobOf(j *store.Job, r *store.HelpRequest, names *store.Names, now time.Time) Job {
	out := Job{
		ID: j.ID, TeamID: j.TeamID, TeamName: names.Teams[j.TeamID], RequestID: j.RequestID, Date: j.Date, State: j.State, DeclineReason: j.DeclineReason,
		Meal: j.Meal, TransactionID: j.TransactionID, CreatedBy: j.CreatedBy, Version: j.Version,
		CompletedAt: j.CompletedAt, Dispute: j.Dispute(now), DisputeUntil: j.DisputeUntil(), DisputeReason: j.DisputeReason, ReversalID: j.ReversalID,
		CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		Workers: make([]PlannedWorker, len(j.Workers)), Attendance: make([]JobAttendance, len(j.Attendance)),
	}
	if r != nil {
		out.HouseholdID, out.FieldID, out.Task, out.Due, out.Late = r.HouseholdID, r.FieldID, r.Task, r.Latest, j.Date > r.Latest
		if h := names.Households[r.HouseholdID]; h != nil {
			out.HeadName, out.Phone = h.HeadName, h.Phone
		}
		if f := names.Fields[r.FieldID]; f != nil {
			out.FieldName, out.FieldArea, out.Group = f.Name, float64(f.AreaCentimu)/100, f.Group
		}
	}
	for i, w := range j.Workers {
		out.Workers[i] = PlannedWorker{HouseholdID: w.HouseholdID, HeadName: names.HeadName(w.HouseholdID), Workers: w.Workers}
	}
	for i, a := range j.Attendance {
		out.Attendance[i] = JobAttendance{HouseholdID: a.HouseholdID, HeadName: names.HeadName(a.HouseholdID), Workers: a.Workers,
			Workdays: workdays(a.HalfDays), Helper: a.Helper, Reason: a.Reason}
	}
	return out
}

// jobViews converts jobs of the caller's village with their requests and
// the names of what they refer to: one query for the requests and one per
// kind of named record, however many jobs there are.
func (s *Server) jobViews(ctx context.Context, jobs ...*store.Job) (func(*store.Job) Job, error) {
	villageID := caller(ctx).VillageID
	ids := make([]int64, len(jobs))
	for i, j := range jobs {
		ids[i] = j.RequestID
	}
	requests, err := s.store.GetRequests(ctx, villageID, ids)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	var refs store.NameRefs
	for _, j := range jobs {
		refs.Teams = append(refs.Teams, j.TeamID)
		if r := requests[j.RequestID]; r != nil {
			refs.Households, refs.Fields = append(refs.Households, r.HouseholdID), append(refs.Fields, r.FieldID)
		}
		for _, w := range j.Workers {
			refs.Households = append(refs.Households, w.HouseholdID)
		}
		for _, a := range j.Attendance {
			refs.Households = append(refs.Households, a.HouseholdID)
		}
	}
	names, err := s.store.Names(ctx, villageID, refs)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	now := s.store.Now()
	return func(j *store.Job) Job { return jobOf(j, requests[j.RequestID], names, now) }, nil
}

// JobOutput is one job.
type JobOutput struct {
	Body Job
}

// CompletedJobOutput is a completed job; a replay carries the header.
type CompletedJobOutput struct {
	Replayed string `header:"Idempotent-Replayed" example:"true" doc:"\"true\" when this answers a repeated Idempotency-Key; absent otherwise 重复请求的原答复"`
	Body     Job
}

// JobInput is a cadre's hand-made job.
type JobInput struct {
	TeamID    int64           `json:"teamId" minimum:"1" example:"1" doc:"Team to send 互助队"`
	RequestID int64           `json:"requestId" minimum:"1" example:"3" doc:"An open help request 求助"`
	Date      string          `json:"date" format:"date" example:"2026-04-21" doc:"The day, not before the request's window opens; after its due date it is marked late 派工日期"`
	Workers   []PlannedWorker `json:"workers" minItems:"1" maxItems:"50" doc:"Member households of the team, each free that day 计划出工的队员户"`
}

// CompletionInput is the leader's record of a finished job.
type CompletionInput struct {
	Attendance []JobAttendance `json:"attendance" minItems:"1" maxItems:"100" doc:"Who worked and how long, one line a household: members of the team, or named helpers; at most the job's planned workers plus the village's attendance slack 实际出工（每户一行，人数不超过计划人数加村里允许的余量）"`
	Meal       bool            `json:"meal,omitempty" example:"true" doc:"The helped household hosted a meal 是否管饭"`
}

func (s *Server) addJobRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "create-job", Method: http.MethodPost, Path: "/v1/jobs",
		Summary: "手工派工 Assign a team to a request for a day", Tags: []string{"jobs"}, Security: secured(store.RoleCadre),
		Description: "计划出工须为本队队员、当天有空且未派其他活；通知队长和农户。 The cadre's override of the plan. Planned workers must be members of the team, available that day and " +
			"on no other job that day (409). The team's leader and the household are told.",
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body JobInput }) (*JobOutput, error) {
		p, b := caller(ctx), in.Body
		nj := store.NewJob{TeamID: b.TeamID, RequestID: b.RequestID, Date: b.Date, Workers: make([]store.PlannedWorker, len(b.Workers))}
		for i, w := range b.Workers {
			nj.Workers[i] = store.PlannedWorker{HouseholdID: w.HouseholdID, Workers: w.Workers}
		}
		j, err := s.store.CreateJob(ctx, p.VillageID, p.String(), nj)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.jobOutput(ctx, j)
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-jobs", Method: http.MethodGet, Path: "/v1/jobs",
		Summary: "派工列表 List jobs", Tags: []string{"jobs"},
		Description: "队长看本队派工，农户看为本户安排的派工；每条带受助户、田块、队和队员的名字。 A leader lists its team's jobs (the morning list: ?date=; what is " +
			"still to do: ?from=today&open=true); a household the jobs on its requests; a cadre the whole village. Each job names " +
			"the household helped (and its phone), the field, the team and the workers beside their IDs.",
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		PageInput
		Date    string `query:"date" format:"date" example:"2026-04-21" doc:"One day, the same as from=date&to=date 某一天"`
		From    string `query:"from" format:"date" example:"2026-04-20" doc:"First date 起始日期"`
		To      string `query:"to" format:"date" example:"2026-04-30" doc:"Last date 截止日期"`
		State   string `query:"state" enum:"scheduled,confirmed,declined,done,cancelled" example:"scheduled" doc:"Only this state 只看某状态"`
		Open    bool   `query:"open" example:"true" doc:"Only jobs still to do: scheduled or confirmed 只看待办（待确认、已确认）"`
		Request int64  `query:"request" minimum:"0" example:"3" doc:"Only this request's jobs 只看某求助"`
		Team    int64  `query:"team" minimum:"0" example:"1" doc:"Only this team's jobs 只看某队"`
	}) (*ListOutput[Job], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		if in.Date != "" && (in.From != "" || in.To != "") {
			return nil, s.problem(ctx, store.Invalid("query.date", "日期与起止日期不能同时使用 give date, or from and to, not both"))
		}
		p := caller(ctx)
		f := store.JobFilter{TeamID: in.Team, RequestID: in.Request, State: in.State, Open: in.Open, From: in.From, To: in.To}
		if in.Date != "" {
			f.From, f.To = in.Date, in.Date
		}
		switch p.Role {
		case store.RoleLeader:
			if f.TeamID != 0 && f.TeamID != p.TeamID {
				return nil, deny(ctx, "team", f.TeamID)
			}
			f.TeamID = p.TeamID
		case store.RoleHousehold:
			f.HouseholdID = p.HouseholdID
		}
		rows, next, err := s.store.ListJobs(ctx, p.VillageID, f, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.jobViews(ctx, rows...)
		if err != nil {
			return nil, err
		}
		return listOf(rows, next, view), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-job", Method: http.MethodGet, Path: "/v1/jobs/{id}",
		Summary: "查看派工 Get a job and its history", Tags: []string{"jobs"},
		Description: "队长只看本队，农户只看为本户安排的。 A leader reads its team's jobs, a household the jobs on its requests.",
		Security:    secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*JobOutput, error) {
		j, _, err := s.jobInScope(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		ts, err := s.store.Transitions(ctx, caller(ctx).VillageID, "job", j.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out, err := s.jobOutput(ctx, j)
		if err != nil {
			return nil, err
		}
		out.Body.Transitions = transitionsOf(ts)
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "confirm-job", Method: http.MethodPost, Path: "/v1/jobs/{id}/confirm",
		Summary: "确认派工 Accept a job", Tags: []string{"jobs"}, Security: secured(store.RoleCadre, store.RoleLeader),
		Description: "队长确认后通知农户。 The team's leader accepts a scheduled job; the household is told. When every job of the request is " +
			"confirmed, so is the request. A job in another state is 409.",
		Errors: []int{401, 403, 404, 409, 422},
	}, func(ctx context.Context, in *IDPath) (*JobOutput, error) {
		if _, _, err := s.jobInScope(ctx, in.ID); err != nil {
			return nil, err
		}
		p := caller(ctx)
		j, err := s.store.ConfirmJob(ctx, p.VillageID, in.ID, p.String())
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.jobOutput(ctx, j)
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "decline-job", Method: http.MethodPost, Path: "/v1/jobs/{id}/decline",
		Summary: "拒绝派工 Turn a job down", Tags: []string{"jobs"}, Security: secured(store.RoleCadre, store.RoleLeader),
		Description: "须说明原因；求助退回待安排。 With a reason. When the request has no other active job it goes back to submitted for the next plan; " +
			"the cadre and the household are told. A job done or cancelled is 409.",
		Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		Body ReasonInput
	}) (*JobOutput, error) {
		if _, _, err := s.jobInScope(ctx, in.ID); err != nil {
			return nil, err
		}
		p := caller(ctx)
		j, err := s.store.DeclineJob(ctx, p.VillageID, in.ID, p.String(), in.Body.Reason)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.jobOutput(ctx, j)
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "complete-job", Method: http.MethodPost, Path: "/v1/jobs/{id}/complete",
		Summary: "完工记工 Record who worked and post the workdays", Tags: []string{"jobs"},
		Security: secured(store.RoleCadre, store.RoleLeader),
		Description: "记录出工并记账，须带幂等键；重复请求返回原答复。 Records the attendance of a confirmed job and posts its ledger transaction in one step: the helped " +
			"household (or the village fund, when exempt) is debited the total, each worker credited its own. " +
			"Attendance rules, each a 422 naming the line and nothing written: not before the job's date in the village; " +
			"each person at most 1 workday, in half days (workdays ≤ workers); no more people than planned plus the village's " +
			"attendanceSlack; a household the job did not plan needs a reason. The helped household may dispute the posting " +
			"within 3 days (dispute-job). " +
			"Needs an Idempotency-Key: a retry with the same key and body replays the first answer (header " +
			"Idempotent-Replayed: true); the same key with another body is 422; completing a job that is not confirmed " +
			"(already done, declined, …) is 409.",
		Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		IdempotencyHeader
		Body CompletionInput
	}) (*CompletedJobOutput, error) {
		if _, _, err := s.jobInScope(ctx, in.ID); err != nil {
			return nil, err
		}
		post, err := posting(ctx, "complete-job", in.IdempotencyKey, in.ID, in.Body)
		if err != nil {
			return nil, err
		}
		c := store.Completion{Meal: in.Body.Meal, IdempotencyKey: post.IdempotencyKey, RequestHash: post.RequestHash,
			Attendance: make([]store.JobAttendance, len(in.Body.Attendance))}
		for i, a := range in.Body.Attendance {
			c.Attendance[i] = store.JobAttendance{HouseholdID: a.HouseholdID, Workers: a.Workers, HalfDays: int64(a.Workdays * 2), Helper: a.Helper, Reason: a.Reason}
		}
		p := caller(ctx)
		j, replayed, err := s.store.CompleteJob(ctx, p.VillageID, in.ID, p.String(), c)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.jobViews(ctx, j)
		if err != nil {
			return nil, err
		}
		out := &CompletedJobOutput{Body: view(j)}
		if replayed {
			out.Replayed = "true"
		}
		return out, nil
	})
}

// DisputeInput is the helped household's objection to a job's posting.
type DisputeInput struct {
	Reason string `json:"reason" minLength:"1" maxLength:"200" example:"我家那天只来了一个人，记了三个工日" doc:"What is wrong with what was recorded 异议原因"`
}

// ResolveDisputeInput is a cadre's decision on a disputed job.
type ResolveDisputeInput struct {
	Resolution string `json:"resolution" enum:"confirm,reverse" example:"reverse" doc:"confirm keeps the posting; reverse posts its ledger reversal 处理：confirm维持，reverse冲正"`
	Note       string `json:"note,omitempty" maxLength:"200" example:"核实后确为误记" doc:"What the cadre found 核实情况"`
}

func (s *Server) addDisputeRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "dispute-job", Method: http.MethodPost, Path: "/v1/jobs/{id}/dispute",
		Summary: "对记工提出异议 Dispute what a done job posted", Tags: []string{"jobs"}, Security: secured(store.RoleHousehold),
		Description: "受助户在完工后3天内可对记工提出异议，交村干部核实。 The household helped by a done job disputes the workdays " +
			"posted against it, within 3 days of the completion (see disputeUntil); the job is flagged for the cadre (board, season " +
			"report), who confirms or reverses it (resolve-dispute). Only the household of the job's request may dispute (another's " +
			"job is 404). After the 3 days the posting stands confirmed: 409, ask the cadre; a job not done, already disputed or " +
			"resolved is 409, saying what to do instead.",
		Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		Body DisputeInput
	}) (*JobOutput, error) {
		if _, _, err := s.jobInScope(ctx, in.ID); err != nil {
			return nil, err
		}
		p := caller(ctx)
		j, err := s.store.DisputeJob(ctx, p.VillageID, in.ID, p.String(), in.Body.Reason)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.jobOutput(ctx, j)
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "resolve-dispute", Method: http.MethodPost, Path: "/v1/jobs/{id}/resolve-dispute",
		Summary: "处理记工异议 Confirm or reverse a disputed job", Tags: []string{"jobs"}, Security: secured(store.RoleCadre),
		Description: "村干部核实后维持或冲正；冲正即记一笔反向账。 A cadre settles a disputed job: confirm keeps its posting; reverse " +
			"posts the ledger reversal of the job's transaction (as reverse-transaction does) in the same step and marks the job " +
			"reversed. The household and the team are told. A job with no open dispute is 409.",
		Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		Body ResolveDisputeInput
	}) (*JobOutput, error) {
		p := caller(ctx)
		j, err := s.store.ResolveDispute(ctx, p.VillageID, in.ID, p.String(), in.Body.Resolution, in.Body.Note)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return s.jobOutput(ctx, j)
	})
}

// jobInScope loads a job the caller may see with its request: a leader its
// team's, a household one on its own request, a cadre any in the village.
// Any other is a 404, recorded as a denial — never a 403 that would admit
// the job exists.
func (s *Server) jobInScope(ctx context.Context, id int64) (*store.Job, *store.HelpRequest, error) {
	p := caller(ctx)
	j, err := s.store.GetJob(ctx, p.VillageID, id)
	if err != nil {
		return nil, nil, s.problem(ctx, err)
	}
	if p.Role == store.RoleLeader && j.TeamID != p.TeamID {
		return nil, nil, deny(ctx, "job", id)
	}
	r, err := s.store.GetRequest(ctx, p.VillageID, j.RequestID)
	if err != nil {
		return nil, nil, s.problem(ctx, err)
	}
	if p.Role == store.RoleHousehold && r.HouseholdID != p.HouseholdID {
		return nil, nil, deny(ctx, "job", id)
	}
	return j, r, nil
}

// jobOutput answers with a job, what its request says about it and the
// names of what it refers to.
func (s *Server) jobOutput(ctx context.Context, j *store.Job) (*JobOutput, error) {
	view, err := s.jobViews(ctx, j)
	if err != nil {
		return nil, err
	}
	return &JobOutput{Body: view(j)}, nil
}
