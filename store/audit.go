package store

import (
	"context"
	"strings"
)

// Audit outcomes.
const (
	OutcomeOK       = "ok"       // the change was made
	OutcomeDenied   = "denied"   // authentication or authorisation refused it
	OutcomeRejected = "rejected" // the input or the state refused it (4xx)
	OutcomeFailed   = "failed"   // the service failed (5xx)
)

// AppendAudit writes one line to the audit log. The table refuses UPDATE
// and DELETE, so lines can only be added.
func (s *Store) AppendAudit(ctx context.Context, e *AuditEntry) error {
	e.ID = 0
	// A probe's path may hold a NUL or broken bytes; the line keeps them
	// readable (%00, U+FFFD) rather than failing to be written.
	for _, f := range []*string{&e.Actor, &e.Action, &e.Target} {
		*f = strings.ToValidUTF8(strings.ReplaceAll(*f, "\x00", "%00"), "\uFFFD")
	}
	if e.Count == 0 {
		e.Count = 1
	}
	if e.At.IsZero() {
		e.At = s.Now().UTC()
	}
	_, err := s.db.NewInsert().Model(e).Exec(ctx)
	return translate(err, "audit entry")
}

// ListAudit returns a page of a village's audit log, oldest first.
func (s *Store) ListAudit(ctx context.Context, villageID int64, p Page) ([]*AuditEntry, int64, error) {
	return paginate(ctx, s.db, villageID, p, func(e *AuditEntry) int64 { return e.ID }, "audit log", nil)
}
