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

// stateError is the 409 for a transition the loop does not allow; it says
// which state the record is in.
func stateError(what string, id int64, state, action string) error {
	return Errorf(ECONFLICT, "当前状态为%[5]s，不能%[6]s %[1]s %[2]d is %[3]s and cannot be %[4]s", what, id, state, action, stateNames[state], actionNames[action])
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
