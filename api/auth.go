package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

const bearerScheme = "bearer"

// Principal is who is calling: a live token's role, village and binding.
type Principal struct {
	TokenID     int64
	VillageID   int64
	Role        string
	TeamID      int64 // leader only
	HouseholdID int64 // household only
	Expires     time.Time
}

func (p *Principal) String() string {
	switch p.Role {
	case store.RoleLeader:
		return fmt.Sprintf("leader:team%d#token%d", p.TeamID, p.TokenID)
	case store.RoleHousehold:
		return fmt.Sprintf("household:%d#token%d", p.HouseholdID, p.TokenID)
	}
	return fmt.Sprintf("%s#token%d", p.Role, p.TokenID)
}

type ctxKey int

const (
	principalKey ctxKey = iota
	auditKey
)

// caller returns the authenticated principal; the middleware guarantees one
// for every operation that declares security.
func caller(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey).(*Principal)
	if p == nil {
		panic("api: operation without security reached a handler that needs a caller")
	}
	return p
}

// requestAudit travels with a request so handlers can mark a scoped-out
// read (another household's record) as a denial for the audit log.
type requestAudit struct {
	principal *Principal
	addr      string // the client's address (clientAddr)
	denied    bool
	refused   bool // input refused before the handler: audited even for a read
	// pending is a change's line, written by the store inside the
	// change's own transaction (one commit per posting); nil for a read.
	pending *store.PendingAudit
}

// deny marks the request as denied in the audit log and returns the 404 the
// caller sees: a record outside one's scope is not admitted to exist.
func deny(ctx context.Context, what string, id int64) error {
	if ra, ok := ctx.Value(auditKey).(*requestAudit); ok {
		ra.denied = true
	}
	return toProblem(store.Errorf(store.ENOTFOUND, "未找到 %s %d not found", what, id))
}

// auditStatus sets the status a change's audit line carries when it is
// written with the change, for a handler that answers other than its
// operation's default status (a dry run's 200).
func auditStatus(ctx context.Context, status int) {
	if ra, ok := ctx.Value(auditKey).(*requestAudit); ok && ra.pending != nil {
		ra.pending.SetStatus(status)
	}
}

// secured declares the roles allowed to call an operation. The roles are
// the bearer scheme's scopes (OpenAPI 3.1 allows role names there), so the
// document and the enforcement read the same list.
func secured(roles ...string) []map[string][]string {
	return []map[string][]string{{bearerScheme: roles}}
}

// authenticate enforces each operation's declared security, puts the
// principal in the context and writes the audit log line for every
// mutating request and every denial.
func (s *Server) authenticate(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if len(op.Security) == 0 {
		next(ctx)
		return
	}
	ra := &requestAudit{addr: s.clientAddr(ctx.RemoteAddr(), ctx.Header)}
	defer func() { s.audit(ctx, op, ra) }()

	secret, ok := bearerToken(ctx.Header("Authorization"))
	p, wait, err := s.admit(ctx.Context(), ra.addr, secret)
	switch {
	case err == nil:
	case wait > 0:
		ra.denied = true
		s.tooMany(ctx, wait, "认证失败次数过多，请稍后再试 too many failed authentications from this address; retry later")
		return
	case !ok:
		ra.denied = true
		s.unauthorized(ctx, "缺少或格式错误的令牌 missing or malformed Authorization: Bearer header")
		return
	case store.ErrorCode(err) == store.EUNAUTHORIZED:
		ra.denied = true
		s.unauthorized(ctx, store.ErrorMessage(err))
		return
	default:
		s.log.Error("authenticate", "err", err)
		s.writeProblem(ctx, err)
		return
	}
	ra.principal = p
	if !slices.Contains(op.Security[0][bearerScheme], p.Role) {
		ra.denied = true
		s.writeProblem(ctx, store.Errorf(store.EFORBIDDEN, "该角色无权执行此操作 role %s may not call %s", p.Role, op.OperationID))
		return
	}
	if err := s.checkText(ctx, op); err != nil {
		ra.refused = true
		s.writeProblem(ctx, err)
		return
	}
	ctx = huma.WithValue(ctx, principalKey, p)
	ctx = huma.WithValue(ctx, auditKey, ra)
	if op.Method != http.MethodGet && op.Method != http.MethodHead {
		ra.pending = &store.PendingAudit{Entry: s.auditEntry(ctx, op, op.DefaultStatus, ra)}
		ctx = huma.WithContext(ctx, store.WithAudit(ctx.Context(), ra.pending))
	}
	next(ctx)
}

// Resolve returns the principal of a token's secret: the bearer header's
// here, the web pages' sign-in cookie there, so both see the same callers.
// Anything that is not a live token is EUNAUTHORIZED.
func Resolve(ctx context.Context, st *store.Store, secret string) (*Principal, error) {
	tok, err := st.Authenticate(ctx, secret)
	if err != nil {
		return nil, err
	}
	p := &Principal{TokenID: tok.ID, VillageID: tok.VillageID, Role: tok.Role}
	if tok.ExpiresAt != nil {
		p.Expires = *tok.ExpiresAt
	}
	if tok.TeamID != nil {
		p.TeamID = *tok.TeamID
	}
	if tok.HouseholdID != nil {
		p.HouseholdID = *tok.HouseholdID
	}
	return p, nil
}

// admit resolves a secret sent from addr under the failure throttle: a
// live token's principal, always; otherwise the error, with the wait when
// addr is throttled (the caller answers 429), else the failure counted.
//
// A live token is served even from a throttled address: a village shares
// one address (the Wi-Fi, the carrier's NAT), and one phone guessing must
// not lock every household out. That the throttled still tell a right
// guess from a wrong one is harmless: a secret is 256 random bits. Looking
// costs a hash and an indexed read per request, and no write (the audit
// counts floods). A revoked or expired token's secret is no guess either:
// the phone or board still holding it is told 401 as long as it asks, and
// its address is not throttled for it.
func (s *Server) admit(ctx context.Context, addr, secret string) (*Principal, time.Duration, error) {
	p, err := Resolve(ctx, s.store, secret)
	if err == nil {
		return p, 0, nil
	}
	return nil, s.refuse(addr, err), err
}

// refuse counts a failed authentication from addr against its throttle:
// the wait when addr is throttled (nothing more is counted then), else 0
// with the failure taken from its bucket. A revoked or expired token's
// failure is not a guess and takes nothing; an error of the database is
// no failure at all.
func (s *Server) refuse(addr string, err error) time.Duration {
	if store.ErrorCode(err) != store.EUNAUTHORIZED {
		return 0
	}
	if wait := s.throttle.wait(addr); wait > 0 {
		return wait
	}
	if !errors.Is(err, store.ErrTokenEnded) {
		s.throttle.fail(addr)
	}
	return 0
}

func bearerToken(header string) (string, bool) {
	scheme, secret, ok := strings.Cut(strings.TrimSpace(header), " ")
	secret = strings.TrimSpace(secret)
	if !ok || !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return "", false
	}
	return secret, true
}

func (s *Server) unauthorized(ctx huma.Context, msg string) {
	ctx.SetHeader("WWW-Authenticate", `Bearer realm="huangong"`)
	s.writeProblem(ctx, store.Errorf(store.EUNAUTHORIZED, "%s", msg))
}

// audit writes one line for a mutating request, a denial, or input
// refused before the handler, unless the store already wrote the change's
// line in the change's transaction and the answer is the success it
// recorded. It runs after the response is written, so a failure here is
// logged, not shown. A change committed before the request then failed
// keeps both lines: the change was made, and the answer was a failure.
// Anonymous denials after an address's first in a minute are counted into
// one line (floods) instead.
func (s *Server) audit(ctx huma.Context, op *huma.Operation, ra *requestAudit) {
	status := ctx.Status()
	mutating := op.Method != http.MethodGet && op.Method != http.MethodHead
	if !mutating && !ra.denied && !ra.refused {
		return
	}
	if ra.pending != nil && ra.pending.Written() && AuditOutcome(status, ra.denied) == store.OutcomeOK {
		return
	}
	e := s.auditEntry(ctx, op, status, ra)
	if ra.principal == nil && e.Outcome == store.OutcomeDenied && !s.floods.record(ra.addr, &e) {
		return
	}
	// The request's context may already be cancelled by a client that
	// left; the audit line is written regardless.
	if err := s.store.AppendAudit(context.WithoutCancel(ctx.Context()), &e); err != nil {
		s.log.Error("audit", "err", err, "action", e.Action, "target", e.Target)
	}
}

// AuditOutcome judges an answer for the audit log: a denial (marked, or a
// 401 or 403), a failure (a server error, or 0: the handler panicked
// before answering), a rejection (other client errors) or ok. The web
// pages judge theirs by the same rule.
func AuditOutcome(status int, denied bool) string {
	switch {
	case denied || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return store.OutcomeDenied
	case status >= 500 || status == 0:
		return store.OutcomeFailed
	case status >= 400:
		return store.OutcomeRejected
	}
	return store.OutcomeOK
}

// auditEntry is a request's audit line answered with status.
func (s *Server) auditEntry(ctx huma.Context, op *huma.Operation, status int, ra *requestAudit) store.AuditEntry {
	e := store.AuditEntry{Action: op.OperationID, Target: ctx.URL().Path, Status: status, Actor: "anonymous"}
	if p := ra.principal; p != nil {
		e.Actor, e.VillageID, e.TokenID = p.String(), &p.VillageID, &p.TokenID
	}
	e.Outcome = AuditOutcome(status, ra.denied)
	return e
}
