package store

import (
	"context"
	"fmt"
	"time"

	"github.com/uptrace/bun"
)

// Request states: the closed loop 收集登记—分类交办—限时办结—评价反馈.
const (
	RequestSubmitted = "submitted" // a household asked (or a cadre for it)
	RequestScheduled = "scheduled" // it has jobs, not all confirmed
	RequestConfirmed = "confirmed" // every job confirmed by its team leader
	RequestDone      = "done"      // attendance recorded, the ledger posted
	RequestClosed    = "closed"    // feedback given, or 3 days passed without
	RequestCancelled = "cancelled"
)

// Job states.
const (
	JobScheduled = "scheduled"
	JobConfirmed = "confirmed"
	JobDeclined  = "declined"
	JobDone      = "done"
	JobCancelled = "cancelled"
)

// FeedbackWindow is how long a done request waits for feedback before it
// closes by itself.
const FeedbackWindow = 3 * 24 * time.Hour

// Transition is one recorded state change, so response times, lateness
// and completion are measured from records, not guessed.
type Transition struct {
	bun.BaseModel `bun:"table:transitions"`

	ID        int64     `bun:",pk,autoincrement"`
	VillageID int64     `bun:",notnull"`
	Subject   string    `bun:",notnull"` // "request" or "job"
	SubjectID int64     `bun:",notnull"`
	FromState string    `bun:",notnull"` // "" on creation
	ToState   string    `bun:",notnull"`
	Actor     string    `bun:",notnull"`
	Note      string    `bun:",notnull"`
	At        time.Time `bun:",notnull"`
}

// Audiences of outbox events.
const (
	AudienceHousehold = "household" // AudienceID is the household
	AudienceTeam      = "team"      // its leader; AudienceID is the team
	AudienceCadre     = "cadre"     // the village office; AudienceID is the village
)

// OutboxEvent is a notification someone should hear about, written in the
// same transaction as the change it tells of. A sender (SMS, the events
// stream) reads from here; the table is append-only.
type OutboxEvent struct {
	bun.BaseModel `bun:"table:outbox"`

	ID         int64     `bun:",pk,autoincrement"`
	VillageID  int64     `bun:",notnull"`
	Audience   string    `bun:",notnull"`
	AudienceID int64     `bun:",notnull"`
	Event      string    `bun:",notnull"` // job.scheduled, job.confirmed, job.declined, job.done, request.feedback, …
	Subject    string    `bun:",notnull"`
	SubjectID  int64     `bun:",notnull"`
	Message    string    `bun:",notnull"` // Chinese, ready for an SMS
	CreatedAt  time.Time `bun:",notnull"`
}

// loopTx is one write transaction of the loop: it records transitions and
// outbox events beside the change, all or nothing.
type loopTx struct {
	s     *Store
	db    bun.IDB
	v     int64
	actor string
	now   time.Time
}

func (s *Store) loop(ctx context.Context, villageID int64, actor string, fn func(context.Context, *loopTx) error) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return fn(ctx, &loopTx{s: s, db: tx, v: villageID, actor: actor, now: s.stamp()})
	})
}

func (l *loopTx) transition(ctx context.Context, subject string, id int64, from, to, note string) error {
	_, err := l.db.NewInsert().Model(&Transition{VillageID: l.v, Subject: subject, SubjectID: id,
		FromState: from, ToState: to, Actor: l.actor, Note: note, At: l.now}).Exec(ctx)
	return translate(err, "transition")
}

func (l *loopTx) notify(ctx context.Context, audience string, audienceID int64, event, subject string, subjectID int64, format string, args ...any) error {
	_, err := l.db.NewInsert().Model(&OutboxEvent{VillageID: l.v, Audience: audience, AudienceID: audienceID,
		Event: event, Subject: subject, SubjectID: subjectID, Message: fmt.Sprintf(format, args...), CreatedAt: l.now}).Exec(ctx)
	return translate(err, "outbox event")
}

// stateError is the 409 for a transition the loop does not allow: it says
// which state the record is in and the next step (see nextSteps).
func stateError(what string, id int64, state, action string) error {
	n, ok := nextSteps[what+" "+action+" "+state]
	if !ok {
		n = [2]string{"请村干部查看", "ask the village cadre"}
	}
	return conflictNext(fmt.Sprintf("当前状态为%s，不能%s", stateNames[state], actionNames[action]),
		fmt.Sprintf("%s %d is %s and cannot be %s", what, id, state, action), n[0], n[1])
}

// conflictNext is a 409 that says why and what to do instead, Chinese
// first: "why；下一步：next why; next: next". Every refused transition
// says its next step this way, so the web pages and any client show it
// as it is; the CLI only adds the command to type.
func conflictNext(zh, en, nextZh, nextEn string) *Error {
	return Errorf(ECONFLICT, "%s；下一步：%s %s; next: %s", zh, nextZh, en, nextEn)
}

// nextSteps says what to do instead of a refused transition, by "what
// action state": Chinese, then English naming the operation to use.
var nextSteps = map[string][2]string{
	"job confirmed confirmed": {"已确认过，干完活后完工记工", "it is already confirmed: nothing to do until the work is done, then record it (complete-job)"},
	"job confirmed declined":  {"村里会重新安排；如队里又能去，请村干部重新派工", "the village plans its request again; if the team can go after all, ask the village cadre for a new job (create-job)"},
	"job confirmed done":      {"已完工记账，无需确认", "the work is already recorded: nothing to confirm"},
	"job confirmed cancelled": {"派工已取消（求助撤销或停工），不用去了", "the job was cancelled (the request was cancelled or the day blocked): nobody needs to go"},
	"job declined declined":   {"已拒绝过，无需再拒绝", "it is already declined: nothing to do"},
	"job declined done":       {"已完工记账；如记工有误，请村干部核实冲正", "its work is recorded and posted; if the record is wrong, the village cadre reverses it (reverse-transaction)"},
	"job declined cancelled":  {"派工已取消，无需拒绝", "the job was cancelled: nothing to decline"},
	"job completed scheduled": {"请队长先确认派工，再完工记工", "the team's leader confirms it first (confirm-job), then records the work"},
	"job completed done":      {"已记工记账；如有出入，受助户可在3天内提出异议，或请村干部冲正", "the work is already recorded and posted; if it is wrong, the household disputes it within 3 days (dispute-job) or the village cadre reverses it (reverse-transaction)"},
	"job completed declined":  {"已拒绝的派工不能记工；如队员已去干活，请村干部补派工", "a declined job is not recorded; if the team worked after all, ask the village cadre for a job to record it on (create-job)"},
	"job completed cancelled": {"已取消的派工不能记工；如队员已去干活，请村干部补派工", "a cancelled job is not recorded; if the team worked after all, ask the village cadre for a job to record it on (create-job)"},
	"job disputed scheduled":  {"还没完工记账，完工后3天内可提出异议", "nothing is posted yet: a dispute is possible within 3 days once the work is recorded (dispute-job after complete-job)"},
	"job disputed confirmed":  {"还没完工记账，完工后3天内可提出异议", "nothing is posted yet: a dispute is possible within 3 days once the work is recorded (dispute-job after complete-job)"},
	"job disputed declined":   {"该派工没有记账，无需异议", "nothing was posted for it: nothing to dispute"},
	"job disputed cancelled":  {"该派工没有记账，无需异议", "nothing was posted for it: nothing to dispute"},

	"help request scheduled done":           {"如还需要帮忙，请重新登记求助", "if help is still needed, register a new request (create-request)"},
	"help request scheduled closed":         {"如还需要帮忙，请重新登记求助", "if help is still needed, register a new request (create-request)"},
	"help request scheduled cancelled":      {"如还需要帮忙，请重新登记求助", "if help is still needed, register a new request (create-request)"},
	"help request cancelled done":           {"已办结；如记工有误，请村干部核实冲正", "the help is done; if a posting is wrong, the village cadre reverses it (reverse-transaction)"},
	"help request cancelled closed":         {"已办结；如记工有误，请村干部核实冲正", "the help is done; if a posting is wrong, the village cadre reverses it (reverse-transaction)"},
	"help request cancelled cancelled":      {"已撤销过，无需再撤销", "it is already cancelled: nothing to do"},
	"help request given feedback submitted": {"办结后再评价", "rate it once the help is done (submit-feedback)"},
	"help request given feedback scheduled": {"办结后再评价", "rate it once the help is done (submit-feedback)"},
	"help request given feedback confirmed": {"办结后再评价", "rate it once the help is done (submit-feedback)"},
	"help request given feedback closed":    {"完工3天未评价已自动关闭", "it closed by itself 3 days after the work without feedback"},
	"help request given feedback cancelled": {"已撤销的求助不评价", "a cancelled request is not rated"},
}

var stateNames = map[string]string{
	RequestSubmitted: "已登记", RequestScheduled: "已派工", RequestConfirmed: "已确认", RequestDone: "已完成",
	RequestClosed: "已评价", RequestCancelled: "已取消", JobDeclined: "已拒绝",
}

var actionNames = map[string]string{
	"confirmed": "确认", "declined": "拒绝", "completed": "完工", "cancelled": "取消",
	"scheduled": "派工", "given feedback": "评价", "closed": "关闭", "disputed": "提出异议",
}

// OutboxFilter selects the events a caller may read.
type OutboxFilter struct {
	Audience   string // "" for every audience (a cadre)
	AudienceID int64
	After      int64 // events with a larger ID
	Limit      int
}

// Outbox returns the village's events for an audience after an ID.
func (s *Store) Outbox(ctx context.Context, villageID int64, f OutboxFilter) ([]*OutboxEvent, error) {
	var out []*OutboxEvent
	q := s.db.NewSelect().Model(&out).Where("village_id = ?", villageID).Where("id > ?", f.After).OrderExpr("id")
	if f.Audience != "" {
		q = q.Where("audience = ?", f.Audience).Where("audience_id = ?", f.AudienceID)
	}
	if f.Limit <= 0 || f.Limit > MaxPageLimit {
		f.Limit = MaxPageLimit
	}
	return out, translate(q.Limit(int64(f.Limit)).Scan(ctx), "outbox")
}

// LastEvent returns the ID of the village's newest outbox event, 0 when
// there is none: the board's live refresh asks what came after it.
func (s *Store) LastEvent(ctx context.Context, villageID int64) (int64, error) {
	var last int64
	err := s.db.NewSelect().Model((*OutboxEvent)(nil)).ColumnExpr("COALESCE(MAX(id), 0)").
		Where("village_id = ?", villageID).Scan(ctx, &last)
	return last, translate(err, "outbox")
}

// Transitions returns a subject's recorded state changes, oldest first.
func (s *Store) Transitions(ctx context.Context, villageID int64, subject string, id int64) ([]*Transition, error) {
	var out []*Transition
	err := s.db.NewSelect().Model(&out).Where("village_id = ?", villageID).
		Where("subject = ?", subject).Where("subject_id = ?", id).OrderExpr("id").Scan(ctx)
	return out, translate(err, "transitions")
}
