package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/scheduler/planner"
	"huangong/store"
)

// HelpRequest is a household's ask for help as the API shows it.
type HelpRequest struct {
	ID               int64        `json:"id" example:"3" doc:"Request ID 求助编号"`
	HouseholdID      int64        `json:"householdId" example:"1" doc:"The household asking 求助农户"`
	HeadName         string       `json:"headName" example:"廖金生" doc:"Head of the household asking 户主"`
	Phone            string       `json:"phone,omitempty" example:"13879312345" doc:"The household's contact phone, when it gave one 联系电话"`
	FieldID          int64        `json:"fieldId" example:"7" doc:"Field 田块"`
	FieldName        string       `json:"fieldName" example:"路边田" doc:"The field's name 田块名称"`
	FieldArea        float64      `json:"fieldArea" example:"1.2" doc:"The field's area in mu 田块面积（亩）"`
	SeasonID         int64        `json:"seasonId" example:"1" doc:"The season its window lies in 所属农时"`
	Task             string       `json:"task" enum:"prepare,transplant,harvest" example:"transplant" doc:"Task 农活：整地、插秧、收割"`
	Earliest         string       `json:"earliest" format:"date" example:"2026-04-20" doc:"First day help may come 最早日期"`
	Latest           string       `json:"latest" format:"date" example:"2026-04-25" doc:"Due date: last day of the window 最晚日期（办结期限）"`
	Workdays         float64      `json:"workdays" example:"2.5" doc:"Workdays needed, in half-day steps 所需工日"`
	CrewCap          int          `json:"crewCap" minimum:"1" maximum:"50" example:"4" doc:"Most people on the field a day: the cadre's setting, else ceil(2 × mu) between 2 and 6 每天人数上限"`
	CrewCapSet       bool         `json:"crewCapSet" example:"false" doc:"A cadre set the crew cap; false: the default from the field's area 人数上限由村干部设定"`
	UnplacedReason   string       `json:"unplacedReason,omitempty" example:"截止前互助队人手不足 not enough free team members from 2026-04-20 to 2026-04-25" doc:"Why the last saved plan could not place it, Chinese first; absent when it did or none ran 暂未排上的原因"`
	Priority         int          `json:"priority" minimum:"1" maximum:"5" example:"3" doc:"1 (least) to 5; vulnerable households first 优先级"`
	State            string       `json:"state" enum:"submitted,scheduled,confirmed,done,closed,cancelled" example:"confirmed" doc:"submitted → scheduled → confirmed → done → closed; or cancelled 状态"`
	Overdue          bool         `json:"overdue" example:"false" doc:"Still open after its due date 已超期未办结"`
	OnBehalf         bool         `json:"onBehalf" example:"false" doc:"A cadre entered it for the household 村干部代为登记"`
	EnteredBy        string       `json:"enteredBy" example:"household:1#token4" doc:"Who registered it 登记人"`
	Note             string       `json:"note" example:"家里没有劳力" doc:"Note 备注"`
	Feedback         *Feedback    `json:"feedback,omitempty"`
	SubmittedAt      time.Time    `json:"submittedAt" example:"2026-04-12T01:20:00Z" doc:"Registered 登记时间"`
	FirstConfirmedAt *time.Time   `json:"firstConfirmedAt,omitempty" example:"2026-04-12T03:50:00Z" doc:"A team leader first confirmed a job: the response 首次确认派工时间"`
	DoneAt           *time.Time   `json:"doneAt,omitempty" example:"2026-04-21T10:05:00Z" doc:"Attendance recorded for its last job 办结时间"`
	DoneDate         *string      `json:"doneDate,omitempty" format:"date" example:"2026-04-21" doc:"Date of its last job: on time when on or before latest 完工日期"`
	ClosedAt         *time.Time   `json:"closedAt,omitempty" example:"2026-04-22T00:40:00Z" doc:"Closed by feedback or after 3 days without 关闭时间"`
	Version          int64        `json:"version" example:"4" doc:"Version 版本号"`
	UpdatedAt        time.Time    `json:"updatedAt" example:"2026-04-22T00:40:00Z" doc:"Last changed 修改时间"`
	Transitions      []Transition `json:"transitions,omitempty" doc:"Every state change with actor and time (get-request only) 状态变更记录"`
}

// Feedback is a household's rating of the help it got.
type Feedback struct {
	Stars   int    `json:"stars" minimum:"1" maximum:"5" example:"5" doc:"1 to 5 stars 评分"`
	Comment string `json:"comment" example:"来得及时，活干得好" doc:"Comment 评语"`
}

// TransformSchema describes the type itself rather than the property that
// holds it: OpenAPI 3.0 ignores a description beside a $ref.
func (Feedback) TransformSchema(_ huma.Registry, s *huma.Schema) *huma.Schema {
	s.Description = "农户评价（办结后） The household's rating of the help, once the request is done"
	return s
}

// Transition is one recorded state change.
type Transition struct {
	From  string    `json:"from,omitempty" example:"submitted" doc:"State before; absent on creation 原状态"`
	To    string    `json:"to" example:"scheduled" doc:"State after 新状态"`
	Actor string    `json:"actor" example:"cadre#token1" doc:"Who 操作人"`
	Note  string    `json:"note,omitempty" example:"田已自己种上了" doc:"Why, when said 说明"`
	At    time.Time `json:"at" example:"2026-04-12T03:50:00Z" doc:"When 时间"`
}

func transitionsOf(ts []*store.Transition) []Transition {
	out := make([]Transition, len(ts))
	for i, t := range ts {
		out[i] = Transition{From: t.FromState, To: t.ToState, Actor: t.Actor, Note: t.Note, At: t.At}
	}
	return out
}

// requestView converts requests, judging overdue against today's date in
// the village, naming the household and field and reading the default
// crew cap from the field's area.
func requestView(today string, names *store.Names) func(*store.HelpRequest) HelpRequest {
	return func(r *store.HelpRequest) HelpRequest {
		var area int64
		out := HelpRequest{
			ID: r.ID, HouseholdID: r.HouseholdID, FieldID: r.FieldID, SeasonID: r.SeasonID, Task: r.Task,
			Earliest: r.Earliest, Latest: r.Latest, Workdays: workdays(r.HalfDays), Priority: r.Priority, State: r.State,
			CrewCapSet:     r.CrewCap != nil,
			UnplacedReason: r.UnplacedReason,
			Overdue:        r.Open() && r.Latest < today, OnBehalf: r.OnBehalf, EnteredBy: r.EnteredBy, Note: r.Note,
			SubmittedAt: r.SubmittedAt, FirstConfirmedAt: r.FirstConfirmedAt, DoneAt: r.DoneAt, DoneDate: r.DoneDate,
			ClosedAt: r.ClosedAt, Version: r.Version, UpdatedAt: r.UpdatedAt,
		}
		if h := names.Households[r.HouseholdID]; h != nil {
			out.HeadName, out.Phone = h.HeadName, h.Phone
		}
		if f := names.Fields[r.FieldID]; f != nil {
			out.FieldName, out.FieldArea, area = f.Name, float64(f.AreaCentimu)/100, f.AreaCentimu
		}
		out.CrewCap = CrewCap(r, area)
		if r.FeedbackStars != nil {
			out.Feedback = &Feedback{Stars: *r.FeedbackStars, Comment: r.FeedbackComment}
		}
		return out
	}
}

// CrewCap is the crew cap in effect on a request: a cadre's setting, else
// the planner's default from its field's area (in hundredths of a mu).
func CrewCap(r *store.HelpRequest, areaCentimu int64) int {
	if r.CrewCap != nil {
		return *r.CrewCap
	}
	return planner.DefaultCrewCap(float64(areaCentimu) / 100)
}

// requestViews is requestView for rows of the caller's village: it reads
// today and the names of the rows' households and fields, one query each.
func (s *Server) requestViews(ctx context.Context, rows ...*store.HelpRequest) (func(*store.HelpRequest) HelpRequest, error) {
	villageID := caller(ctx).VillageID
	today, err := s.today(ctx, villageID)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	var refs store.NameRefs
	for _, r := range rows {
		refs.Households, refs.Fields = append(refs.Households, r.HouseholdID), append(refs.Fields, r.FieldID)
	}
	names, err := s.store.Names(ctx, villageID, refs)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	return requestView(today, names), nil
}

// today is the date in the village now: due dates and overdue are judged
// by the village's calendar, not the server's.
func (s *Server) today(ctx context.Context, villageID int64) (string, error) {
	v, err := s.store.GetVillage(ctx, villageID)
	if err != nil {
		return "", err
	}
	return s.store.Now().In(v.Location()).Format(time.DateOnly), nil
}

// RequestInput is a household's ask for help, or a cadre's entry of one.
type RequestInput struct {
	HouseholdID int64   `json:"householdId,omitempty" minimum:"1" example:"1" doc:"The household asking. A cadre must name it; a household's token asks for itself 求助农户（村干部代登记时必填）"`
	FieldID     int64   `json:"fieldId" minimum:"1" example:"7" doc:"One of the household's fields 田块"`
	Task        string  `json:"task" enum:"prepare,transplant,harvest" example:"transplant" doc:"Task 农活：整地、插秧、收割"`
	Earliest    string  `json:"earliest" format:"date" example:"2026-04-20" doc:"First day help may come; a day already past means as soon as possible 最早日期"`
	Latest      string  `json:"latest" format:"date" example:"2026-04-25" doc:"Last day: the due date, today or later in the village; the window must lie in a season allowing the task 最晚日期"`
	Workdays    float64 `json:"workdays,omitempty" exclusiveMinimum:"0" maximum:"1000" multipleOf:"0.5" example:"2.5" doc:"Cadre only: workdays needed; absent, estimated as area × norm rounded up to the half day 所需工日（村干部可改，默认按定额估算）"`
	Note        string  `json:"note,omitempty" maxLength:"200" example:"家里没有劳力" doc:"Note 备注"`
}

// RequestOutput is one help request.
type RequestOutput struct {
	ETag string `header:"ETag" example:"\"4\"" doc:"Send back as If-Match to update 更新时回传"`
	Body HelpRequest
}

func requestOutput(r HelpRequest) *RequestOutput {
	return &RequestOutput{ETag: etag(r.Version), Body: r}
}

// RequestPatch is what a cadre may change on an open help request; a
// field left out stays as it is.
type RequestPatch struct {
	CrewCap  OmittableNullable[int] `json:"crewCap,omitempty" minimum:"1" maximum:"50" nullable:"true" example:"4" doc:"Most people on the field a day, 1 to 50; null: back to the default from the field's area (ceil(2 × mu) between 2 and 6) 每天人数上限（null恢复按面积默认）"`
	Workdays *float64               `json:"workdays,omitempty" exclusiveMinimum:"0" maximum:"1000" multipleOf:"0.5" example:"3" doc:"Workdays needed, in half-day steps 所需工日"`
}

// OmittableNullable is a body field that may be left out, sent as null, or
// sent with a value; each is told apart (huma's documented pattern).
type OmittableNullable[T any] struct {
	Sent  bool
	Null  bool
	Value T
}

// UnmarshalJSON records that the field was sent, and whether as null.
func (o *OmittableNullable[T]) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	o.Sent = true
	if bytes.Equal(b, []byte("null")) {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.Value)
}

// Schema is the schema of the value on the wire; the field's tags add
// its bounds and nullability.
func (o OmittableNullable[T]) Schema(r huma.Registry) *huma.Schema {
	return r.Schema(reflect.TypeOf(o.Value), true, "")
}

// KeyedRequestOutput is a help request registered or cancelled by a call
// that may be retried; a replay carries the header.
type KeyedRequestOutput struct {
	Replayed string `header:"Idempotent-Replayed" example:"true" doc:"\"true\" when this answers a repeated Idempotency-Key; absent otherwise 重复请求的原答复"`
	Body     HelpRequest
}

// RetryHeader is an optional Idempotency-Key: the operations that take it
// are safe for a client to retry after a lost answer, while callers that
// never retry (the web pages) need not send one.
type RetryHeader struct {
	IdempotencyKey string `header:"Idempotency-Key" maxLength:"255" example:"6f1c2a4e-8b3d-4f7a-9c55-2d0e1b7a9f10" doc:"Optional. A unique key per call, e.g. a UUID; repeating it with the same body replays the first answer, with another body is 422. 幂等键（可选，重试时带同一键）"`
}

// retry fingerprints a retryable call as posting does a posting; a call
// without a key gets the zero Posting.
func retry(ctx context.Context, op, key string, params ...any) (store.Posting, error) {
	if key == "" {
		return store.Posting{}, nil
	}
	return posting(ctx, op, key, params...)
}

// replayedHeader is the Idempotent-Replayed value of an answer.
func replayedHeader(replayed bool) string {
	if replayed {
		return "true"
	}
	return ""
}

// ReasonInput says why.
type ReasonInput struct {
	Reason string `json:"reason" minLength:"1" maxLength:"200" example:"田已自己种上了" doc:"Why 原因"`
}

func (s *Server) addRequestRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "create-request", Method: http.MethodPost, Path: "/v1/requests",
		Summary: "登记求助 Ask for help on a field", Tags: []string{"requests"},
		Description: "农户为本户田块求助，村干部可代登记；时段须在允许该农活的农时内，最晚日期不得早于本村今天（最早日期已过表示尽快）；同一田块同一农活只能有一个未办结求助。 A household asks for its own fields; a cadre enters a request for any household (recorded as on its behalf). " +
			"The window must lie inside an open or planned season that allows the task (else 422); a field has one open " +
			"request per task (a second is 409). Workdays are estimated from the field's area and the village's norm. " +
			"The window must not have ended: latest before today in the village is 422; an earliest already past is " +
			"kept as given and means as soon as possible. An Idempotency-Key is optional: a retry with the same key and " +
			"body answers 201 with the request the first call registered (header Idempotent-Replayed: true), the same " +
			"key with another body is 422. 可带幂等键，重试时返回首次登记的求助。",
		Security:      secured(store.RoleCadre, store.RoleHousehold),
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		RetryHeader
		Body RequestInput
	}) (*KeyedRequestOutput, error) {
		p, b := caller(ctx), in.Body
		nr := store.NewRequest{FieldID: b.FieldID, Task: b.Task, Earliest: b.Earliest, Latest: b.Latest,
			HalfDays: int64(b.Workdays * 2), Note: b.Note}
		switch p.Role {
		case store.RoleHousehold:
			if b.HouseholdID != 0 && b.HouseholdID != p.HouseholdID {
				return nil, deny(ctx, "household", b.HouseholdID)
			}
			if b.Workdays != 0 {
				return nil, s.problem(ctx, store.Invalid("body.workdays",
					"工日按定额估算，由村干部调整 workdays are estimated from the field; a cadre may change them"))
			}
			nr.HouseholdID = p.HouseholdID
		default:
			if b.HouseholdID == 0 {
				return nil, s.problem(ctx, store.Invalid("body.householdId",
					"代登记须填写农户 a cadre enters a request for a named household"))
			}
			nr.HouseholdID, nr.OnBehalf = b.HouseholdID, true
		}
		// The fingerprint is of the request as resolved for the caller, so
		// another household's key never replays this household's answer.
		post, err := retry(ctx, "create-request", in.IdempotencyKey, nr)
		if err != nil {
			return nil, err
		}
		nr.IdempotencyKey, nr.RequestHash = post.IdempotencyKey, post.RequestHash
		r, replayed, err := s.store.CreateRequestOnce(ctx, p.VillageID, p.String(), nr)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.requestViews(ctx, r)
		if err != nil {
			return nil, err
		}
		return &KeyedRequestOutput{Replayed: replayedHeader(replayed), Body: view(r)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "list-requests", Method: http.MethodGet, Path: "/v1/requests",
		Summary: "求助列表 List help requests", Tags: []string{"requests"},
		Description: "农户看本户，队长看本队有派工的，村干部看全村。 A household lists its own; a leader the requests its team has jobs on; a cadre the whole village. " +
			"overdue=true: open requests whose due date has passed in the village.",
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		PageInput
		State     string `query:"state" enum:"submitted,scheduled,confirmed,done,closed,cancelled" example:"submitted" doc:"Only this state 只看某状态"`
		Task      string `query:"task" enum:"prepare,transplant,harvest" example:"transplant" doc:"Only this task 只看某农活"`
		Season    int64  `query:"season" minimum:"0" example:"1" doc:"Only this season 只看某农时"`
		Team      int64  `query:"team" minimum:"0" example:"1" doc:"Only requests with a job of this team 只看某队有派工的"`
		Household int64  `query:"household" minimum:"0" example:"1" doc:"Only this household's 只看某户"`
		Overdue   bool   `query:"overdue" example:"true" doc:"Only open requests past their due date 只看超期未办结"`
	}) (*ListOutput[HelpRequest], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		p := caller(ctx)
		f := store.RequestFilter{State: in.State, Task: in.Task, SeasonID: in.Season, TeamID: in.Team, HouseholdID: in.Household}
		switch p.Role {
		case store.RoleHousehold:
			if f.HouseholdID != 0 && f.HouseholdID != p.HouseholdID {
				return nil, deny(ctx, "household", f.HouseholdID)
			}
			f.HouseholdID = p.HouseholdID
		case store.RoleLeader:
			if f.TeamID != 0 && f.TeamID != p.TeamID {
				return nil, deny(ctx, "team", f.TeamID)
			}
			f.TeamID = p.TeamID
		}
		today, err := s.today(ctx, p.VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if in.Overdue {
			f.OverdueOn = today
		}
		rows, next, err := s.store.ListRequests(ctx, p.VillageID, f, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.requestViews(ctx, rows...)
		if err != nil {
			return nil, err
		}
		return listOf(rows, next, view), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-request", Method: http.MethodGet, Path: "/v1/requests/{id}",
		Summary: "查看求助 Get a help request and its history", Tags: []string{"requests"},
		Description: "含每次状态变更的操作人和时间。农户只看本户，队长只看本队有派工的。 With every state change, its actor and time. A household reads its own; a leader one its team has a job on.",
		Security:    secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*RequestOutput, error) {
		r, err := s.requestInScope(ctx, in.ID)
		if err != nil {
			return nil, err
		}
		p := caller(ctx)
		ts, err := s.store.Transitions(ctx, p.VillageID, "request", r.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.requestViews(ctx, r)
		if err != nil {
			return nil, err
		}
		out := requestOutput(view(r))
		out.Body.Transitions = transitionsOf(ts)
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-request", Method: http.MethodPatch, Path: "/v1/requests/{id}",
		Summary: "修改求助 Change a help request's crew cap or work", Tags: []string{"requests"}, Security: secured(store.RoleCadre),
		Description: "村干部修改未办结求助的每天人数上限（null恢复按面积默认）或所需工日，下次排派工时生效；已办结、关闭或撤销的求助不能修改（409）。 " +
			"A cadre changes an open request's crew cap (the most people on its field a day; null resets it to the default " +
			"from the field's area) or the workdays it needs; the next plan run uses them. A request done, closed or " +
			"cancelled is 409. Send the ETag last read as If-Match; if the request changed since, 412 and nothing is written.",
		Errors: []int{400, 401, 403, 404, 409, 412, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		IfMatchHeader
		Body RequestPatch
	}) (*RequestOutput, error) {
		version, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		b := in.Body
		if !b.CrewCap.Sent && b.Workdays == nil {
			return nil, s.problem(ctx, store.Invalid("body",
				"没有要修改的内容，请给出人数上限或工日 nothing to change: send crewCap or workdays"))
		}
		var c store.RequestChange
		switch {
		case b.CrewCap.Null:
			c.ResetCrewCap = true
		case b.CrewCap.Sent:
			c.CrewCap = &b.CrewCap.Value
		}
		if b.Workdays != nil {
			half := int64(*b.Workdays * 2)
			c.HalfDays = &half
		}
		r, err := s.store.UpdateRequest(ctx, caller(ctx).VillageID, in.ID, version, c)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.requestViews(ctx, r)
		if err != nil {
			return nil, err
		}
		return requestOutput(view(r)), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "cancel-request", Method: http.MethodPost, Path: "/v1/requests/{id}/cancel",
		Summary: "撤销求助 Cancel a help request", Tags: []string{"requests"},
		Description: "办结前可撤销，已安排的派工一并取消。 Before it is done; its scheduled and confirmed jobs are cancelled and their teams told. A household cancels " +
			"its own. A request already done, closed or cancelled is 409. An Idempotency-Key is optional: a retry with the " +
			"same key and body answers 200 with the request as the first call left it (header Idempotent-Replayed: true), " +
			"the same key with another body is 422. 可带幂等键，重试时返回首次撤销的结果。",
		Security: secured(store.RoleCadre, store.RoleHousehold), Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		RetryHeader
		Body ReasonInput
	}) (*KeyedRequestOutput, error) {
		if _, err := s.requestInScope(ctx, in.ID); err != nil {
			return nil, err
		}
		post, err := retry(ctx, "cancel-request", in.IdempotencyKey, in.ID, in.Body)
		if err != nil {
			return nil, err
		}
		p := caller(ctx)
		r, replayed, err := s.store.CancelRequestOnce(ctx, p.VillageID, in.ID, p.String(), store.Cancellation{
			Reason: in.Body.Reason, IdempotencyKey: post.IdempotencyKey, RequestHash: post.RequestHash})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.requestViews(ctx, r)
		if err != nil {
			return nil, err
		}
		return &KeyedRequestOutput{Replayed: replayedHeader(replayed), Body: view(r)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "submit-feedback", Method: http.MethodPost, Path: "/v1/requests/{id}/feedback",
		Summary: "评价互助 Rate the help received", Tags: []string{"requests"}, Security: secured(store.RoleHousehold),
		Description: "仅受助户在办结后评价一次，评价后求助关闭。 The helped household only, once its request is done, and only once (again is 409). Closes the request.",
		Errors:      []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		Body struct {
			Stars   int    `json:"stars" minimum:"1" maximum:"5" example:"5" doc:"1 to 5 stars 评分（1到5星）"`
			Comment string `json:"comment,omitempty" maxLength:"500" example:"来得及时，活干得好" doc:"Comment 评语"`
		}
	}) (*RequestOutput, error) {
		if _, err := s.requestInScope(ctx, in.ID); err != nil {
			return nil, err
		}
		p := caller(ctx)
		r, err := s.store.SubmitFeedback(ctx, p.VillageID, in.ID, p.String(), in.Body.Stars, in.Body.Comment)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		view, err := s.requestViews(ctx, r)
		if err != nil {
			return nil, err
		}
		return requestOutput(view(r)), nil
	})
}

// requestInScope loads a request the caller may see: a household its own,
// a leader one its team has a job on, a cadre any in the village. Any
// other is a 404, recorded as a denial.
func (s *Server) requestInScope(ctx context.Context, id int64) (*store.HelpRequest, error) {
	p := caller(ctx)
	r, err := s.store.GetRequest(ctx, p.VillageID, id)
	if err != nil {
		return nil, s.problem(ctx, err)
	}
	switch p.Role {
	case store.RoleHousehold:
		if r.HouseholdID != p.HouseholdID {
			return nil, deny(ctx, "help request", id)
		}
	case store.RoleLeader:
		jobs, _, err := s.store.ListJobs(ctx, p.VillageID, store.JobFilter{TeamID: p.TeamID, RequestID: id}, store.Page{Limit: 1})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if len(jobs) == 0 {
			return nil, deny(ctx, "help request", id)
		}
	}
	return r, nil
}
