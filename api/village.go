package api

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// Village is the caller's village and its settings.
type Village struct {
	ID        int64   `json:"id" example:"1" doc:"Village ID 村编号"`
	Name      string  `json:"name" example:"皇珠村" doc:"Village 村"`
	County    string  `json:"county" example:"玉山县" doc:"County 县"`
	Township  string  `json:"township" example:"四股桥乡" doc:"Township 乡镇"`
	Timezone  string  `json:"timezone" example:"Asia/Shanghai" doc:"Dates are calendar dates here 时区"`
	SoftLimit float64 `json:"softLimit" example:"-10" doc:"Households below this balance are flagged, never refused help 工日提醒线"`
	// SettlePolicy is carry or zero.
	SettlePolicy string `json:"settlePolicy" enum:"carry,zero" example:"carry" doc:"At a season's close: carry balances over, or zero them 结算方式"`
	FreezeDays   int    `json:"freezeDays" example:"2" doc:"Freeze horizon: a re-plan never moves an unconfirmed job dated before today + freezeDays (2: today and tomorrow) 冻结期（天）"`
	// AttendanceSlack bounds complete-job's attendance.
	AttendanceSlack int `json:"attendanceSlack" example:"2" doc:"People beyond a job's planned workers a leader may record on it 记工时可多于计划的人数"`
	TokenDays       int `json:"tokenDays" example:"365" doc:"Days a new household card or leader token lives; a cadre's lives 90 新发农户卡、队长令牌的有效天数"`
	// PublicURL is where sign-in cards point.
	PublicURL string `json:"publicUrl,omitempty" example:"http://192.168.1.10:8080" doc:"The address the phones reach the pages at, printed on sign-in cards 公开地址（印在登录卡上）"`
}

func villageOf(v *store.Village) Village {
	return Village{ID: v.ID, Name: v.Name, County: v.County, Township: v.Township, Timezone: v.Timezone,
		SoftLimit: workdays(v.SoftLimit), SettlePolicy: v.SettlePolicy, FreezeDays: v.FreezeDays, AttendanceSlack: v.AttendanceSlack,
		TokenDays: v.TokenDays, PublicURL: v.PublicURL}
}

// Me is who a token speaks for, so a client can say whom it logged in as.
type Me struct {
	Role        string  `json:"role" enum:"cadre,leader,household" example:"leader" doc:"The token's role 角色：村干部、队长、农户"`
	Actor       string  `json:"actor" example:"leader:team1#token5" doc:"How records name this token as the one who acted (transitions, audit) 记录中的操作人"`
	Village     Village `json:"village"`
	TeamID      int64   `json:"teamId,omitempty" example:"1" doc:"A leader's team 队长所带互助队"`
	TeamName    string  `json:"teamName,omitempty" example:"第一互助队" doc:"The team's name 互助队名称"`
	HouseholdID int64   `json:"householdId,omitempty" example:"1" doc:"A household token's household 农户编号"`
	HeadName    string  `json:"headName,omitempty" example:"章仁标" doc:"Its head 户主"`
}

func (s *Server) addVillageRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "get-me", Method: http.MethodGet, Path: "/v1/me",
		Summary: "当前令牌身份 Who the token speaks for", Tags: []string{"village"},
		Description: "令牌的角色、所属村、队或农户；客户端登录时用来核对令牌。 The token's role, village, and team or household; " +
			"a client checks a token with it when logging in.",
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body Me }, error) {
		p := caller(ctx)
		v, err := s.store.GetVillage(ctx, p.VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		out := &struct{ Body Me }{Body: Me{Role: p.Role, Actor: p.String(), Village: villageOf(v), TeamID: p.TeamID, HouseholdID: p.HouseholdID}}
		if p.TeamID != 0 {
			t, err := s.store.GetTeam(ctx, p.VillageID, p.TeamID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out.Body.TeamName = t.Name
		}
		if p.HouseholdID != 0 {
			h, err := s.store.GetHousehold(ctx, p.VillageID, p.HouseholdID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			out.Body.HeadName = h.HeadName
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-village", Method: http.MethodGet, Path: "/v1/village",
		Summary: "本村信息 The caller's village", Tags: []string{"village"},
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, _ *struct{}) (*struct{ Body Village }, error) {
		v, err := s.store.GetVillage(ctx, caller(ctx).VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body Village }{Body: villageOf(v)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-village", Method: http.MethodPatch, Path: "/v1/village",
		Summary: "修改本村设置 Change the village's settings", Tags: []string{"village"}, Security: secured(store.RoleCadre),
		Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		Body struct {
			SoftLimit       *float64 `json:"softLimit,omitempty" minimum:"-1000" maximum:"0" multipleOf:"0.5" example:"-10" doc:"Soft limit in workdays, ≤ 0 提醒线（工日）"`
			SettlePolicy    *string  `json:"settlePolicy,omitempty" enum:"carry,zero" example:"zero" doc:"At a season's close: carry balances over, or zero them by opening transactions 结算方式：结转或清零"`
			FreezeDays      *int     `json:"freezeDays,omitempty" minimum:"0" maximum:"14" example:"2" doc:"Freeze horizon, 0 to 14 days: a re-plan never moves an unconfirmed job dated before today + freezeDays; 0 lets it move even today's 冻结期（0到14天）"`
			AttendanceSlack *int     `json:"attendanceSlack,omitempty" minimum:"0" maximum:"20" example:"2" doc:"People beyond a job's planned workers a leader may record on it, 0 to 20 记工时可多于计划的人数（0到20）"`
			TokenDays       *int     `json:"tokenDays,omitempty" minimum:"1" maximum:"3650" example:"365" doc:"Days a new household card or leader token lives, 1 to 3650; tokens already out keep theirs 新发令牌有效天数"`
			PublicURL       *string  `json:"publicUrl,omitempty" maxLength:"200" example:"http://192.168.1.10:8080" doc:"The pages' address as the phones reach it, printed on sign-in cards; empty to forget it 公开地址"`
		}
	}) (*struct{ Body Village }, error) {
		if in.Body.SettlePolicy != nil {
			if err := s.store.SetSettlePolicy(ctx, caller(ctx).VillageID, *in.Body.SettlePolicy); err != nil {
				return nil, s.problem(ctx, err)
			}
		}
		var limit *int64
		if in.Body.SoftLimit != nil {
			l := int64(*in.Body.SoftLimit * 2)
			limit = &l
		}
		v, err := s.store.UpdateVillage(ctx, caller(ctx).VillageID, store.VillageUpdate{SoftLimit: limit, FreezeDays: in.Body.FreezeDays, AttendanceSlack: in.Body.AttendanceSlack,
			TokenDays: in.Body.TokenDays, PublicURL: in.Body.PublicURL})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &struct{ Body Village }{Body: villageOf(v)}, nil
	})
}
