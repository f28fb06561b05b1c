package store

import (
	"context"
	"strings"
	"sync"

	"github.com/uptrace/bun"
)

// Audit outcomes.
const (
	OutcomeOK       = "ok"       // the change was made
	OutcomeDenied   = "denied"   // authentication or authorisation refused it
	OutcomeRejected = "rejected" // the input or the state refused it (4xx)
	OutcomeFailed   = "failed"   // the service failed (5xx)
)

// AppendAudit writes one line to the audit log in its own transaction: a
// denial, a refusal or a failure, which changed nothing to ride with. The
// table refuses UPDATE and DELETE, so lines can only be added.
func (s *Store) AppendAudit(ctx context.Context, e *AuditEntry) error {
	return s.insertAudit(ctx, s.db, e)
}

// insertAudit writes e through db, keeping a probe's path readable: a NUL
// or broken bytes become %00 and U+FFFD rather than failing the write.
func (s *Store) insertAudit(ctx context.Context, db bun.IDB, e *AuditEntry) error {
	e.ID = 0
	for _, f := range []*string{&e.Actor, &e.Action, &e.Target} {
		*f = strings.ToValidUTF8(strings.ReplaceAll(*f, "\x00", "%00"), "\uFFFD")
	}
	if e.Count == 0 {
		e.Count = 1
	}
	if e.At.IsZero() {
		e.At = s.Now().UTC()
	}
	_, err := db.NewInsert().Model(e).Exec(ctx)
	return translate(err, "audit entry")
}

// PendingAudit is the audit line of a request that may change records,
// written with the change: the first write transaction of the store that
// commits under a context carrying it (WithAudit) inserts Entry inside
// that transaction, as outcome ok. A posting then costs one commit, not
// one for the change and another for its line, and a change is never
// committed without its line. A request that changes nothing (refused,
// failed, or a write outside a transaction) leaves it unwritten, and its
// caller appends the line itself (AppendAudit) once it knows the answer.
type PendingAudit struct {
	Entry AuditEntry // Outcome and At are set when it is written

	mu      sync.Mutex
	written bool
}

// Written reports whether the line was committed with a change.
func (p *PendingAudit) Written() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.written
}

// SetStatus changes the status the line will carry, for a handler that
// knows before it writes that it will answer other than its operation's
// default (a dry run's 200).
func (p *PendingAudit) SetStatus(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.written {
		p.Entry.Status = status
	}
}

type pendingAuditKey struct{}

// WithAudit returns ctx carrying p for the store's next committed write.
func WithAudit(ctx context.Context, p *PendingAudit) context.Context {
	return context.WithValue(ctx, pendingAuditKey{}, p)
}

// pendingAudit is ctx's unwritten audit line, locked for writing, or nil.
// The caller unlocks it with done(committed). A line another transaction
// of the request is writing (locked) is that transaction's.
func pendingAudit(ctx context.Context) *PendingAudit {
	p, _ := ctx.Value(pendingAuditKey{}).(*PendingAudit)
	if p == nil || !p.mu.TryLock() {
		return nil
	}
	if p.written {
		p.mu.Unlock()
		return nil
	}
	return p
}

// done unlocks a line pendingAudit returned, marking it written when the
// transaction that inserted it committed.
func (p *PendingAudit) done(committed bool) {
	p.written = committed
	p.mu.Unlock()
}

// ListAudit returns a page of a village's audit log, oldest first.
func (s *Store) ListAudit(ctx context.Context, villageID int64, p Page) ([]*AuditEntry, int64, error) {
	return paginate(ctx, s.db, villageID, p, func(e *AuditEntry) int64 { return e.ID }, "audit log", nil)
}
