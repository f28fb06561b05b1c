package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// AuditEntry is one line of the audit log.
type AuditEntry struct {
	ID      int64     `json:"id" example:"118" doc:"Entry ID 日志编号"`
	Actor   string    `json:"actor" example:"cadre#token1" doc:"Who: role, binding and token 操作人"`
	Action  string    `json:"action" example:"create-household" doc:"Operation ID 操作"`
	Target  string    `json:"target" example:"/v1/households" doc:"Request path 对象"`
	Status  int       `json:"status" example:"201" doc:"HTTP status answered 状态码"`
	Outcome string    `json:"outcome" enum:"ok,denied,rejected,failed" example:"ok" doc:"ok, denied (auth), rejected (input or state), failed (server) 结果"`
	At      time.Time `json:"at" example:"2026-03-02T01:30:00Z" doc:"When 时间"`
	Count   int64     `json:"count" example:"1" doc:"Requests the line stands for: 1, or how many denials from one address one minute's flood line counts 次数"`
}

func auditOf(e *store.AuditEntry) AuditEntry {
	return AuditEntry{ID: e.ID, Actor: e.Actor, Action: e.Action, Target: e.Target, Status: e.Status, Outcome: e.Outcome, At: e.At, Count: e.Count}
}

func (s *Server) addAuditRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-audit-log", Method: http.MethodGet, Path: "/v1/audit",
		Summary: "操作日志 Read the audit log", Tags: []string{"audit"}, Security: secured(store.RoleCadre),
		Description: "只增不改。 Every change and every denial in the village, oldest first. Append-only.",
		Errors:      []int{401, 403, 422},
	}, func(ctx context.Context, in *struct{ PageInput }) (*ListOutput[AuditEntry], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		rows, next, err := s.store.ListAudit(ctx, caller(ctx).VillageID, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, next, auditOf), nil
	})
}
