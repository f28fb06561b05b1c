package store

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

// HelpRequest is a household's ask for help on one field and task.
type HelpRequest struct {
	bun.BaseModel `bun:"table:help_requests"`

	ID          int64  `bun:",pk,autoincrement"`
	VillageID   int64  `bun:",notnull"`
	HouseholdID int64  `bun:",notnull"`
	FieldID     int64  `bun:",notnull"`
	SeasonID    int64  `bun:",notnull"`
	Task        string `bun:",notnull"`
	Earliest    string `bun:",notnull"` // the window, dates in the village
	Latest      string `bun:",notnull"` // the due date
	HalfDays    int64  `bun:",notnull"` // estimated from area × norm; a cadre may change it
	Priority    int    `bun:",notnull"` // 1 (least) … 5: vulnerable households first
	// CrewCap is the most people the field takes a day, set by a cadre;
	// nil: the planner's default from the field's area.
	CrewCap *int ``
	// UnplacedReason is why the last saved plan could not place the
	// request; "" when it did or none ran.
	UnplacedReason string `bun:",notnull"`
	State          string `bun:",notnull"`
	// OpenKey is "field:task" while the request is open and NULL after;
	// UNIQUE, so a field has one open request per task.
	OpenKey          *string    ``
	EnteredBy        string     `bun:",notnull"`
	OnBehalf         bool       `bun:",notnull"` // a cadre entered it for the household
	Note             string     `bun:",notnull"`
	FeedbackStars    *int       ``
	FeedbackComment  string     `bun:",notnull"`
	SubmittedAt      time.Time  `bun:",notnull"`
	FirstConfirmedAt *time.Time ``
	DoneAt           *time.Time ``
	DoneDate         *string    `` // the date of its last job: on time when ≤ Latest
	ClosedAt         *time.Time ``
	Version          int64      `bun:",notnull"`
	CreatedAt        time.Time  `bun:",notnull"`
	UpdatedAt        time.Time  `bun:",notnull"`

	// CreateKey and CancelKey are the Idempotency-Keys of the calls that
	// registered and cancelled it, with their fingerprints: a retry with
	// the same key is answered from here (see replayRequest).
	CreateKey  *string ``
	CreateHash string  `bun:",notnull"`
	CancelKey  *string ``
	CancelHash string  `bun:",notnull"`
}

// Open reports whether the request still waits for its help.
func (r *HelpRequest) Open() bool {
	return r.State == RequestSubmitted || r.State == RequestScheduled || r.State == RequestConfirmed
}

// Priority of a household's request: 1 plus 2 for a vulnerable household,
// 1 for one without a laborer, 1 for five-guarantee or disabled.
func priority(h *Household) int {
	p := 1
	if h.Vulnerable() {
		p += 2
	}
	if h.Laborers == 0 {
		p++
	}
	if h.FiveGuarantee || h.Disabled {
		p++
	}
	return p
}

// NewRequest is what a household (or a cadre for it) asks.
type NewRequest struct {
	HouseholdID      int64
	FieldID          int64
	Task             string
	Earliest, Latest string
	HalfDays         int64 // 0: estimate from the field's area and the norm
	Note             string
	OnBehalf         bool
	IdempotencyKey   string // "" for none; else the same key replays the first answer
	RequestHash      string // fingerprint of the request; a reused key must match it
}

// CreateRequest registers a help request; see CreateRequestOnce.
func (s *Store) CreateRequest(ctx context.Context, villageID int64, actor string, in NewRequest) (*HelpRequest, error) {
	r, _, err := s.CreateRequestOnce(ctx, villageID, actor, in)
	return r, err
}

// CreateRequestOnce registers a help request. The window must lie inside a
// season that allows the task and must not have ended: its latest date is
// today or later in the village, by the store's clock. An earliest date
// already past is kept as the household gave it: help may come from now
// on. A field has one open request per task. A retry with the same
// idempotency key and fingerprint replays the request the first call
// registered, as it is now; the same key with another fingerprint is
// EINVALID.
func (s *Store) CreateRequestOnce(ctx context.Context, villageID int64, actor string, in NewRequest) (r *HelpRequest, replayed bool, err error) {
	if !slices.Contains(Tasks, in.Task) {
		return nil, false, Invalid("body.task", "农活类型无效 unknown task %q; one of %v", in.Task, Tasks)
	}
	for field, d := range map[string]string{"body.earliest": in.Earliest, "body.latest": in.Latest} {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return nil, false, Invalid(field, "日期格式应为2026-04-20 %q is not a date like 2026-04-20", d)
		}
	}
	if in.Earliest > in.Latest {
		return nil, false, Invalid("body.earliest", "最早日期晚于最晚日期 earliest %s is after latest %s", in.Earliest, in.Latest)
	}
	err = s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		prev, err := replayRequest(ctx, l.db, villageID, "create", in.IdempotencyKey, in.RequestHash)
		if prev != nil || err != nil {
			r, replayed = prev, prev != nil
			return err
		}
		v, err := s.village(ctx, l.db, villageID)
		if err != nil {
			return err
		}
		if today := l.now.In(v.Location()).Format(time.DateOnly); in.Latest < today {
			return Invalid("body.latest", "最晚日期已过 the window ended on %s, before today (%s) in the village", in.Latest, today)
		}
		f, err := getOne[Field](ctx, l.db, villageID, in.FieldID, "field")
		if err != nil || f.HouseholdID != in.HouseholdID {
			return Invalid("body.fieldId", "该田块不属于此农户 field %d is not one of household %d's fields", in.FieldID, in.HouseholdID)
		}
		h, err := getOne[Household](ctx, l.db, villageID, in.HouseholdID, "household")
		if err != nil {
			return err
		}
		se, err := seasonFor(ctx, l.db, villageID, in.Task, in.Earliest, in.Latest)
		if err != nil {
			return err
		}
		half := in.HalfDays
		if half == 0 {
			ns, err := norms(ctx, l.db, villageID)
			if err != nil {
				return err
			}
			i := slices.IndexFunc(ns, func(n Norm) bool { return n.Crop == f.Crop && n.Task == in.Task })
			half = EstimateHalfDays(f.AreaCentimu, ns[i].CentiPerMu)
		}
		if half <= 0 {
			return Invalid("body.workdays", "工日须大于零 workdays must be more than zero")
		}
		key := fmt.Sprintf("%d:%s", f.ID, in.Task)
		r = &HelpRequest{
			VillageID: villageID, HouseholdID: h.ID, FieldID: f.ID, SeasonID: se.ID, Task: in.Task,
			Earliest: in.Earliest, Latest: in.Latest, HalfDays: half, Priority: priority(h), State: RequestSubmitted,
			OpenKey: &key, EnteredBy: actor, OnBehalf: in.OnBehalf, Note: strings.TrimSpace(in.Note),
			SubmittedAt: l.now, Version: 1, CreatedAt: l.now, UpdatedAt: l.now,
		}
		if in.IdempotencyKey != "" {
			r.CreateKey, r.CreateHash = &in.IdempotencyKey, in.RequestHash
		}
		if _, err := l.db.NewInsert().Model(r).Exec(ctx); err != nil {
			if err = translate(err, "help request"); ErrorCode(err) == ECONFLICT {
				return &Error{Code: ECONFLICT, Field: "body.fieldId",
					Message: conflictNext("该田块已有未完成的同类求助", fmt.Sprintf("field %d already has an open %s request", f.ID, in.Task),
						"请查看或修改那一个", fmt.Sprintf("see it in list-requests (household=%d, task=%s) and change that one (update-request)", h.ID, in.Task)).Message}
			}
			return err
		}
		if err := l.transition(ctx, "request", r.ID, "", RequestSubmitted, in.Note); err != nil {
			return err
		}
		return l.notify(ctx, AudienceCadre, villageID, "request.submitted", "request", r.ID,
			"%s户求助：%s %s，%s至%s，约%s个工日。", h.HeadName, f.Name, taskNames[in.Task], in.Earliest, in.Latest, halfDaysText(half))
	})
	if err != nil {
		return nil, false, err
	}
	return r, replayed, nil
}

// replayRequest finds the help request that an earlier call with the same
// idempotency key registered (op "create") or cancelled ("cancel"), as the
// ledger's replayKey finds a posting: the key must have come with the same
// operation and fingerprint, else EINVALID. nil when the key is new or "".
func replayRequest(ctx context.Context, db bun.IDB, villageID int64, op, key, hash string) (*HelpRequest, error) {
	if key == "" {
		return nil, nil
	}
	r := new(HelpRequest)
	err := db.NewSelect().Model(r).Where("village_id = ?", villageID).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("create_key = ?", key).WhereOr("cancel_key = ?", key)
		}).Limit(1).Scan(ctx)
	switch err = translate(err, "help request"); ErrorCode(err) {
	case ENOTFOUND:
		return nil, nil
	case "":
	default:
		return nil, err
	}
	prevKey, prevHash := r.CreateKey, r.CreateHash
	if op == "cancel" {
		prevKey, prevHash = r.CancelKey, r.CancelHash
	}
	if prevKey == nil || *prevKey != key || prevHash != hash {
		return nil, Invalid("header.Idempotency-Key", "该幂等键已用于另一请求 this Idempotency-Key was already used for a different request")
	}
	return r, nil
}

var taskNames = map[string]string{TaskPrepare: "整地", TaskTransplant: "插秧", TaskHarvest: "收割"}

func halfDaysText(h int64) string { return strconv.FormatFloat(float64(h)/2, 'f', -1, 64) }

// GetRequest returns a help request of the village.
func (s *Store) GetRequest(ctx context.Context, villageID, id int64) (*HelpRequest, error) {
	return getOne[HelpRequest](ctx, s.db, villageID, id, "help request")
}

// RequestFilter narrows list-requests.
type RequestFilter struct {
	State       string
	Task        string
	SeasonID    int64
	TeamID      int64 // requests with a job of this team
	HouseholdID int64
	OverdueOn   string // "": all; a date: open requests whose window ended before it
}

// ListRequests returns a page of the village's help requests.
func (s *Store) ListRequests(ctx context.Context, villageID int64, f RequestFilter, p Page) ([]*HelpRequest, int64, error) {
	return paginate(ctx, s.db, villageID, p, func(r *HelpRequest) int64 { return r.ID }, "help requests",
		func(q *bun.SelectQuery) *bun.SelectQuery {
			if f.State != "" {
				q = q.Where("state = ?", f.State)
			}
			if f.Task != "" {
				q = q.Where("task = ?", f.Task)
			}
			if f.SeasonID != 0 {
				q = q.Where("season_id = ?", f.SeasonID)
			}
			if f.HouseholdID != 0 {
				q = q.Where("household_id = ?", f.HouseholdID)
			}
			if f.TeamID != 0 {
				q = q.Where("id IN (?)", s.db.NewSelect().Model((*Job)(nil)).Column("request_id").Where("team_id = ?", f.TeamID))
			}
			if f.OverdueOn != "" {
				q = q.Where("state IN (?)", bun.In([]string{RequestSubmitted, RequestScheduled, RequestConfirmed})).
					Where("latest < ?", f.OverdueOn)
			}
			return q
		})
}

// setRequestState moves a request and records the transition.
func (l *loopTx) setRequestState(ctx context.Context, r *HelpRequest, to, note string) error {
	from := r.State
	if from == to {
		return nil
	}
	r.State, r.UpdatedAt = to, l.now
	r.Version++
	if !r.Open() {
		r.OpenKey = nil
	}
	if _, err := l.db.NewUpdate().Model(r).WherePK().Exec(ctx); err != nil {
		return translate(err, "help request")
	}
	return l.transition(ctx, "request", r.ID, from, to, note)
}

// CancelRequest cancels an open request and its jobs; see CancelRequestOnce.
func (s *Store) CancelRequest(ctx context.Context, villageID, id int64, actor, reason string) (*HelpRequest, error) {
	r, _, err := s.CancelRequestOnce(ctx, villageID, id, actor, Cancellation{Reason: reason})
	return r, err
}

// Cancellation is why a request is withdrawn, and the key that makes the
// call safe to repeat.
type Cancellation struct {
	Reason         string
	IdempotencyKey string // "" for none; else the same key replays the first answer
	RequestHash    string // fingerprint of the request; a reused key must match it
}

// CancelRequestOnce cancels an open request and its jobs; a request done,
// closed or cancelled is ECONFLICT. A retry with the same idempotency key
// and fingerprint replays the answer: the request as the first call left
// it cancelled. The same key with another fingerprint is EINVALID.
func (s *Store) CancelRequestOnce(ctx context.Context, villageID, id int64, actor string, in Cancellation) (r *HelpRequest, replayed bool, err error) {
	reason := in.Reason
	err = s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		prev, err := replayRequest(ctx, l.db, villageID, "cancel", in.IdempotencyKey, in.RequestHash)
		if prev != nil && prev.ID != id {
			return Invalid("header.Idempotency-Key", "该幂等键已用于撤销另一求助 this Idempotency-Key was already used to cancel help request %d", prev.ID)
		}
		if prev != nil || err != nil {
			r, replayed = prev, prev != nil
			return err
		}
		if r, err = getOne[HelpRequest](ctx, l.db, villageID, id, "help request"); err != nil {
			return err
		}
		if !r.Open() {
			return stateError("help request", id, r.State, "cancelled")
		}
		if in.IdempotencyKey != "" {
			r.CancelKey, r.CancelHash = &in.IdempotencyKey, in.RequestHash
		}
		jobs, err := requestJobs(ctx, l.db, r.ID)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.State != JobScheduled && j.State != JobConfirmed {
				continue
			}
			if err := l.setJobState(ctx, j, JobCancelled, reason); err != nil {
				return err
			}
			if err := l.notify(ctx, AudienceTeam, j.TeamID, "job.cancelled", "job", j.ID,
				"派工已取消：%s 的活（求助%d号）不用去了。%s", j.Date, r.ID, reason); err != nil {
				return err
			}
		}
		return l.setRequestState(ctx, r, RequestCancelled, reason)
	})
	if err != nil {
		return nil, false, err
	}
	return r, replayed, nil
}

// SubmitFeedback closes a done request with the household's stars and
// comment; once only.
func (s *Store) SubmitFeedback(ctx context.Context, villageID, id int64, actor string, stars int, comment string) (*HelpRequest, error) {
	if stars < 1 || stars > 5 {
		return nil, Invalid("body.stars", "评分须为1到5星 stars go from 1 to 5")
	}
	var r *HelpRequest
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		var err error
		if r, err = getOne[HelpRequest](ctx, l.db, villageID, id, "help request"); err != nil {
			return err
		}
		if r.State != RequestDone {
			if r.FeedbackStars != nil {
				return conflictNext("已评价过，不能重复评价", fmt.Sprintf("help request %d is %s and already has feedback", id, r.State), "无需再评价", "nothing to do")
			}
			return stateError("help request", id, r.State, "given feedback")
		}
		r.FeedbackStars, r.FeedbackComment, r.ClosedAt = &stars, strings.TrimSpace(comment), &l.now
		if err := l.setRequestState(ctx, r, RequestClosed, fmt.Sprintf("%d stars", stars)); err != nil {
			return err
		}
		jobs, err := requestJobs(ctx, l.db, r.ID)
		if err != nil {
			return err
		}
		teams := map[int64]bool{}
		for _, j := range jobs {
			if j.State == JobDone && !teams[j.TeamID] {
				teams[j.TeamID] = true
				if err := l.notify(ctx, AudienceTeam, j.TeamID, "request.feedback", "request", r.ID,
					"求助%d号的农户评价：%d星。%s", r.ID, stars, r.FeedbackComment); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}

// CloseUnrated closes the village's done requests that waited the feedback
// window without feedback; the calendar's daily run calls it.
func (s *Store) CloseUnrated(ctx context.Context, villageID int64, actor string) (int, error) {
	n := 0
	err := s.loop(ctx, villageID, actor, func(ctx context.Context, l *loopTx) error {
		var rs []*HelpRequest
		err := l.db.NewSelect().Model(&rs).Where("village_id = ?", villageID).Where("state = ?", RequestDone).
			Where("done_at <= ?", l.now.Add(-FeedbackWindow)).Scan(ctx)
		if err != nil {
			return translate(err, "help requests")
		}
		for _, r := range rs {
			r.ClosedAt = &l.now
			if err := l.setRequestState(ctx, r, RequestClosed, "三天未评价，自动关闭 no feedback in 3 days"); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// MaxCrewCap is the largest crew cap a cadre may set on a request.
const MaxCrewCap = 50

// RequestChange is what a cadre may change on an open help request; a nil
// field stays as it is.
type RequestChange struct {
	CrewCap      *int   // 1..MaxCrewCap
	ResetCrewCap bool   // back to the default from the field's area
	HalfDays     *int64 // the work, > 0
}

func (r *HelpRequest) kind() string                { return "help request" }
func (r *HelpRequest) stamp() (*int64, *time.Time) { return &r.Version, &r.UpdatedAt }
func (r *HelpRequest) ident() (*int64, *int64)     { return &r.ID, &r.VillageID }
func (r *HelpRequest) check(context.Context, bun.IDB) error {
	if r.CrewCap != nil && (*r.CrewCap < 1 || *r.CrewCap > MaxCrewCap) {
		return Invalid("body.crewCap", "每天人数上限须为1到%d unknown crew cap %d; from 1 to %d", MaxCrewCap, *r.CrewCap, MaxCrewCap)
	}
	if r.HalfDays <= 0 {
		return Invalid("body.workdays", "工日须大于零 workdays must be more than zero")
	}
	return nil
}

// UpdateRequest changes an open request's crew cap or work with optimistic
// concurrency (ifVersion 0 skips the check; a stale one is EPRECONDITION).
// A request no longer open is ECONFLICT: its plan is history.
func (s *Store) UpdateRequest(ctx context.Context, villageID, id, ifVersion int64, c RequestChange) (*HelpRequest, error) {
	return update[HelpRequest](ctx, s, villageID, id, ifVersion, func(r *HelpRequest) error {
		if !r.Open() {
			return conflictNext("求助"+stateNames[r.State]+"，不能再修改", fmt.Sprintf("help request %d is %s and cannot be changed", id, r.State),
				"如还需要帮忙，请重新登记一个求助", "if help is still needed, register a new request (create-request)")
		}
		if c.ResetCrewCap {
			r.CrewCap = nil
		} else if c.CrewCap != nil {
			n := *c.CrewCap
			r.CrewCap = &n
		}
		if c.HalfDays != nil {
			r.HalfDays = *c.HalfDays
		}
		return nil
	})
}
