package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"
)

func (t *Team) kind() string                { return "team" }
func (t *Team) stamp() (*int64, *time.Time) { return &t.Version, &t.UpdatedAt }
func (t *Team) ident() (*int64, *int64)     { return &t.ID, &t.VillageID }

func (t *Team) check(ctx context.Context, db bun.IDB) error {
	t.Name = strings.TrimSpace(t.Name)
	t.LeaderName = strings.TrimSpace(t.LeaderName)
	if t.Name == "" {
		return Invalid("body.name", "互助队名称必填 team name is required")
	}
	if t.LeaderHouseholdID != nil {
		return exists(ctx, db, (*Household)(nil), t.VillageID, *t.LeaderHouseholdID, "body.leaderHouseholdId", "household")
	}
	return nil
}

// CreateTeam adds a team to its village; names are unique per village.
func (s *Store) CreateTeam(ctx context.Context, t *Team) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.createTeam(ctx, tx, t)
	})
}

func (s *Store) createTeam(ctx context.Context, db bun.IDB, t *Team) error {
	t.ID, t.Members = 0, nil
	t.CreatedAt = s.Now().UTC()
	err := create(ctx, db, t.CreatedAt, t)
	if ErrorCode(err) == ECONFLICT {
		return &Error{Code: ECONFLICT, Field: "body.name", Message: fmt.Sprintf("同名互助队已存在 a team named %q already exists", t.Name)}
	}
	return err
}

// GetTeam returns a team of the village with its members and their households.
func (s *Store) GetTeam(ctx context.Context, villageID, id int64) (*Team, error) {
	t := new(Team)
	err := s.db.NewSelect().Model(t).
		Relation("Members", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("household_id") }).
		Relation("Members.Household").
		Where("team.village_id = ?", villageID).Where("team.id = ?", id).Scan(ctx)
	if err != nil {
		return nil, translate(err, fmt.Sprintf("team %d", id))
	}
	return t, nil
}

// ListTeams returns a page of the village's teams in ID order, each with its
// members and their households.
func (s *Store) ListTeams(ctx context.Context, villageID int64, p Page) ([]*Team, int64, error) {
	return paginate(ctx, s.db, villageID, p, func(t *Team) int64 { return t.ID }, "teams",
		func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Relation("Members", func(q *bun.SelectQuery) *bun.SelectQuery { return q.Order("household_id") }).
				Relation("Members.Household")
		})
}

// UpdateTeam applies change to a team under optimistic concurrency.
func (s *Store) UpdateTeam(ctx context.Context, villageID, id, ifVersion int64, change func(*Team) error) (*Team, error) {
	t, err := update[Team](ctx, s, villageID, id, ifVersion, change)
	if ErrorCode(err) == ECONFLICT {
		return nil, &Error{Code: ECONFLICT, Field: "body.name", Message: "同名互助队已存在 a team with that name already exists"}
	}
	if err != nil {
		return nil, err
	}
	return s.GetTeam(ctx, villageID, t.ID)
}

// checkMember validates a membership against its household.
func checkMember(ctx context.Context, db bun.IDB, villageID int64, m *TeamMember) error {
	h, err := getOne[Household](ctx, db, villageID, m.HouseholdID, "household")
	if err != nil {
		if ErrorCode(err) == ENOTFOUND {
			return Invalid("body.householdId", "本村无此农户 household %d does not exist in this village", m.HouseholdID)
		}
		return err
	}
	if m.WorkersPerDay < 1 || m.WorkersPerDay > h.Laborers {
		return Invalid("body.workersPerDay", "每日出工人数须在1到劳力数%[2]d之间 workers per day must be between 1 and the household's %[1]d laborers", h.Laborers, h.Laborers)
	}
	if m.UnavailableDays == nil {
		m.UnavailableDays = []string{}
	}
	for i, d := range m.UnavailableDays {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return Invalid(fmt.Sprintf("body.unavailableDays[%d]", i), "日期格式应为2026-04-20 %q is not a date like 2026-04-20", d)
		}
	}
	return nil
}

// AddTeamMember makes a household a member of a team of the same village.
func (s *Store) AddTeamMember(ctx context.Context, villageID int64, m *TeamMember) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return s.addTeamMember(ctx, tx, villageID, m)
	})
}

func (s *Store) addTeamMember(ctx context.Context, db bun.IDB, villageID int64, m *TeamMember) error {
	if _, err := getOne[Team](ctx, db, villageID, m.TeamID, "team"); err != nil {
		return err
	}
	if err := checkMember(ctx, db, villageID, m); err != nil {
		return err
	}
	m.CreatedAt = s.Now().UTC()
	_, err := db.NewInsert().Model(m).Exec(ctx)
	if err = translate(err, "team member"); ErrorCode(err) == ECONFLICT {
		return &Error{Code: ECONFLICT, Field: "body.householdId",
			Message: fmt.Sprintf("该户已是队员 household %d is already a member of team %d", m.HouseholdID, m.TeamID)}
	}
	return err
}

// UpdateTeamMember changes what a member household offers its team.
func (s *Store) UpdateTeamMember(ctx context.Context, villageID, teamID, householdID int64, change func(*TeamMember) error) (*TeamMember, error) {
	m := new(TeamMember)
	err := s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := getOne[Team](ctx, tx, villageID, teamID, "team"); err != nil {
			return err
		}
		err := tx.NewSelect().Model(m).Where("team_id = ?", teamID).Where("household_id = ?", householdID).Scan(ctx)
		if err != nil {
			return translate(err, fmt.Sprintf("member household %d of team %d", householdID, teamID))
		}
		if err := change(m); err != nil {
			return err
		}
		m.TeamID, m.HouseholdID = teamID, householdID
		if err := checkMember(ctx, tx, villageID, m); err != nil {
			return err
		}
		_, err = tx.NewUpdate().Model(m).WherePK().Exec(ctx)
		return translate(err, "team member")
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// RemoveTeamMember takes a household off a team.
func (s *Store) RemoveTeamMember(ctx context.Context, villageID, teamID, householdID int64) error {
	return s.inTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := getOne[Team](ctx, tx, villageID, teamID, "team"); err != nil {
			return err
		}
		res, err := tx.NewDelete().Model((*TeamMember)(nil)).Where("team_id = ?", teamID).Where("household_id = ?", householdID).Exec(ctx)
		if err != nil {
			return translate(err, "team member")
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return Errorf(ENOTFOUND, "该户不是队员 household %d is not a member of team %d", householdID, teamID)
		}
		return nil
	})
}
