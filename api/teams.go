package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// Team is a mutual-aid team with its members.
type Team struct {
	ID                int64        `json:"id" example:"1" doc:"Team ID 互助队编号"`
	Name              string       `json:"name" example:"第一互助队" doc:"Team name 互助队名称"`
	LeaderName        string       `json:"leaderName" example:"章吉仙" doc:"Team leader 队长"`
	LeaderHouseholdID *int64       `json:"leaderHouseholdId,omitempty" example:"5" doc:"The leader's household 队长所在农户"`
	Capacity          int          `json:"capacity" example:"18" doc:"Workers a day when every member comes 每日最多出工人数"`
	Members           []TeamMember `json:"members" doc:"Member households 队员户"`
	Version           int64        `json:"version" example:"2" doc:"Version; sent as the ETag 版本号"`
	CreatedAt         time.Time    `json:"createdAt" example:"2026-03-05T02:00:00Z" doc:"Formed 成立时间"`
	UpdatedAt         time.Time    `json:"updatedAt" example:"2026-03-06T07:30:00Z" doc:"Last changed 修改时间"`
}

// TeamMember is a household working for a team.
type TeamMember struct {
	HouseholdID     int64    `json:"householdId" example:"5" doc:"Member household 队员户"`
	HeadName        string   `json:"headName,omitempty" example:"章吉仙" doc:"Head of the member household 户主"`
	WorkersPerDay   int      `json:"workersPerDay" example:"2" doc:"Workers it offers a day 每日出工人数"`
	UnavailableDays []string `json:"unavailableDays" example:"[\"2026-04-22\"]" doc:"Dates it cannot come 不能出工的日期"`
}

func memberOf(m *store.TeamMember) TeamMember {
	tm := TeamMember{HouseholdID: m.HouseholdID, WorkersPerDay: m.WorkersPerDay, UnavailableDays: m.UnavailableDays}
	if m.Household != nil {
		tm.HeadName = m.Household.HeadName
	}
	if tm.UnavailableDays == nil {
		tm.UnavailableDays = []string{}
	}
	return tm
}

func teamOf(t *store.Team) Team {
	out := Team{
		ID: t.ID, Name: t.Name, LeaderName: t.LeaderName, LeaderHouseholdID: t.LeaderHouseholdID,
		Members: make([]TeamMember, len(t.Members)), Version: t.Version, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
	}
	for i, m := range t.Members {
		out.Members[i] = memberOf(m)
		out.Capacity += m.WorkersPerDay
	}
	return out
}

// TeamInput is a new team.
type TeamInput struct {
	Name              string `json:"name" minLength:"1" maxLength:"40" example:"第一互助队" doc:"Team name, unique in the village 互助队名称"`
	LeaderName        string `json:"leaderName,omitempty" maxLength:"40" example:"章吉仙" doc:"Team leader 队长"`
	LeaderHouseholdID *int64 `json:"leaderHouseholdId,omitempty" minimum:"1" example:"5" doc:"The leader's household 队长所在农户"`
}

// TeamPatch changes a team's name or leader.
type TeamPatch struct {
	Name              *string `json:"name,omitempty" minLength:"1" maxLength:"40" example:"第一互助队" doc:"Team name 互助队名称"`
	LeaderName        *string `json:"leaderName,omitempty" maxLength:"40" example:"章吉仙" doc:"Team leader 队长"`
	LeaderHouseholdID *int64  `json:"leaderHouseholdId,omitempty" minimum:"1" example:"5" doc:"The leader's household 队长所在农户"`
}

// MemberInput is a household joining a team.
type MemberInput struct {
	HouseholdID     int64    `json:"householdId" minimum:"1" example:"5" doc:"Household joining 加入的农户"`
	WorkersPerDay   int      `json:"workersPerDay" minimum:"1" maximum:"20" example:"2" doc:"Workers it offers a day, 1 to its laborers 每日出工人数"`
	UnavailableDays []string `json:"unavailableDays,omitempty" maxItems:"366" example:"[\"2026-04-22\"]" doc:"Dates it cannot come, YYYY-MM-DD 不能出工的日期"`
}

// MemberPatch changes what a member household offers.
type MemberPatch struct {
	WorkersPerDay   *int      `json:"workersPerDay,omitempty" minimum:"1" maximum:"20" example:"1" doc:"Workers it offers a day 每日出工人数"`
	UnavailableDays *[]string `json:"unavailableDays,omitempty" maxItems:"366" example:"[\"2026-04-22\",\"2026-04-23\"]" doc:"Dates it cannot come, replacing the list 不能出工的日期"`
}

// TeamOutput is one team with its ETag.
type TeamOutput struct {
	ETag string `header:"ETag" example:"\"2\"" doc:"Send back as If-Match to update 更新时回传"`
	Body Team
}

func teamOutput(t *store.Team) *TeamOutput {
	return &TeamOutput{ETag: etag(t.Version), Body: teamOf(t)}
}

// MemberOutput is one team member.
type MemberOutput struct {
	Body TeamMember
}

// MemberPath names a member household of a team.
type MemberPath struct {
	ID          int64 `path:"id" minimum:"1" example:"1" doc:"Team ID 互助队编号"`
	HouseholdID int64 `path:"householdId" minimum:"1" example:"5" doc:"Member household 队员户"`
}

func (s *Server) addTeamRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-teams", Method: http.MethodGet, Path: "/v1/teams",
		Summary: "互助队列表 List teams", Tags: []string{"teams"},
		Description: "队长只看本队。 A leader's token lists only its own team.",
		Security:    secured(store.RoleCadre, store.RoleLeader), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct{ PageInput }) (*ListOutput[Team], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		p := caller(ctx)
		if p.Role == store.RoleLeader {
			t, err := s.store.GetTeam(ctx, p.VillageID, p.TeamID)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			return listOf([]*store.Team{t}, 0, teamOf), nil
		}
		rows, next, err := s.store.ListTeams(ctx, p.VillageID, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, next, teamOf), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-team", Method: http.MethodPost, Path: "/v1/teams",
		Summary: "成立互助队 Form a team", Tags: []string{"teams"}, Security: secured(store.RoleCadre),
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body TeamInput }) (*TeamOutput, error) {
		t := &store.Team{VillageID: caller(ctx).VillageID, Name: in.Body.Name,
			LeaderName: in.Body.LeaderName, LeaderHouseholdID: in.Body.LeaderHouseholdID}
		if err := s.store.CreateTeam(ctx, t); err != nil {
			return nil, s.problem(ctx, err)
		}
		return teamOutput(t), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-team", Method: http.MethodGet, Path: "/v1/teams/{id}",
		Summary: "查看互助队 Get a team and its members", Tags: []string{"teams"},
		Description: "队长只能查看本队。 A leader's token reads only its own team.",
		Security:    secured(store.RoleCadre, store.RoleLeader), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*TeamOutput, error) {
		p := caller(ctx)
		if p.Role == store.RoleLeader && p.TeamID != in.ID {
			return nil, deny(ctx, "team", in.ID)
		}
		t, err := s.store.GetTeam(ctx, p.VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return teamOutput(t), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-team", Method: http.MethodPatch, Path: "/v1/teams/{id}",
		Summary: "修改互助队 Rename a team or change its leader", Tags: []string{"teams"}, Security: secured(store.RoleCadre),
		Description: "Send the ETag last read as If-Match; if the team changed since, 412 and nothing is written.",
		Errors:      []int{400, 401, 403, 404, 409, 412, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		IfMatchHeader
		Body TeamPatch
	}) (*TeamOutput, error) {
		version, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		t, err := s.store.UpdateTeam(ctx, caller(ctx).VillageID, in.ID, version, func(t *store.Team) error {
			set(&t.Name, in.Body.Name)
			set(&t.LeaderName, in.Body.LeaderName)
			if in.Body.LeaderHouseholdID != nil {
				t.LeaderHouseholdID = in.Body.LeaderHouseholdID
			}
			return nil
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return teamOutput(t), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "add-team-member", Method: http.MethodPost, Path: "/v1/teams/{id}/members",
		Summary: "添加队员户 Add a member household to a team", Tags: []string{"teams"}, Security: secured(store.RoleCadre),
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 404, 409, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		Body MemberInput
	}) (*MemberOutput, error) {
		m := &store.TeamMember{TeamID: in.ID, HouseholdID: in.Body.HouseholdID,
			WorkersPerDay: in.Body.WorkersPerDay, UnavailableDays: in.Body.UnavailableDays}
		if err := s.store.AddTeamMember(ctx, caller(ctx).VillageID, m); err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{Body: memberOf(m)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-team-member", Method: http.MethodPatch, Path: "/v1/teams/{id}/members/{householdId}",
		Summary: "修改队员出工 Change what a member household offers", Tags: []string{"teams"}, Security: secured(store.RoleCadre),
		Errors: []int{400, 401, 403, 404, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		MemberPath
		Body MemberPatch
	}) (*MemberOutput, error) {
		m, err := s.store.UpdateTeamMember(ctx, caller(ctx).VillageID, in.ID, in.HouseholdID, func(m *store.TeamMember) error {
			set(&m.WorkersPerDay, in.Body.WorkersPerDay)
			set(&m.UnavailableDays, in.Body.UnavailableDays)
			return nil
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return &MemberOutput{Body: memberOf(m)}, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "remove-team-member", Method: http.MethodDelete, Path: "/v1/teams/{id}/members/{householdId}",
		Summary: "移除队员户 Take a household off a team", Tags: []string{"teams"}, Security: secured(store.RoleCadre),
		DefaultStatus: http.StatusNoContent, Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *MemberPath) (*struct{}, error) {
		if err := s.store.RemoveTeamMember(ctx, caller(ctx).VillageID, in.ID, in.HouseholdID); err != nil {
			return nil, s.problem(ctx, err)
		}
		return nil, nil
	})
}
