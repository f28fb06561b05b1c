package store

import (
	"context"
	"slices"
	"time"

	"github.com/uptrace/bun"
)

// Names are what people call the records a list refers to by ID: the
// heads of households, fields and teams. A list's answer loads them in one
// query per kind of record, however many rows it has.
type Names struct {
	Households map[int64]*HouseholdName
	Fields     map[int64]*FieldName
	Teams      map[int64]string
}

// HouseholdName is how a household is found: its head, its village group
// and its phone.
type HouseholdName struct {
	HeadName string
	Group    int `bun:"group_no"`
	Phone    string
}

// FieldName is a field's name, area and the village group it lies in.
type FieldName struct {
	Name        string
	AreaCentimu int64
	Group       int `bun:"group_no"`
}

// HeadName is the head of a household, "" when it was not loaded.
func (n *Names) HeadName(householdID int64) string {
	if h := n.Households[householdID]; h != nil {
		return h.HeadName
	}
	return ""
}

// NameRefs are the IDs a list refers to, duplicates allowed.
type NameRefs struct {
	Households, Fields, Teams []int64
}

// Names loads the names of the village's records in refs; an ID of
// another village or none at all is left out of the maps.
func (s *Store) Names(ctx context.Context, villageID int64, refs NameRefs) (*Names, error) {
	out := &Names{Households: map[int64]*HouseholdName{}, Fields: map[int64]*FieldName{}, Teams: map[int64]string{}}
	households, err := columnsOf[struct {
		ID int64
		HouseholdName
	}](ctx, s.db, (*Household)(nil), villageID, refs.Households, "households", "id", "head_name", "group_no", "phone")
	if err != nil {
		return nil, err
	}
	for _, r := range households {
		out.Households[r.ID] = &r.HouseholdName
	}
	fields, err := columnsOf[struct {
		ID int64
		FieldName
	}](ctx, s.db, (*Field)(nil), villageID, refs.Fields, "fields", "id", "name", "area_centimu", "group_no")
	if err != nil {
		return nil, err
	}
	for _, r := range fields {
		out.Fields[r.ID] = &r.FieldName
	}
	teams, err := columnsOf[struct {
		ID   int64
		Name string
	}](ctx, s.db, (*Team)(nil), villageID, refs.Teams, "teams", "id", "name")
	if err != nil {
		return nil, err
	}
	for _, r := range teams {
		out.Teams[r.ID] = r.Name
	}
	return out, nil
}

// columnsOf reads columns of the village's records of a model among ids,
// in one query; none when ids has no ID.
func columnsOf[R any](ctx context.Context, db bun.IDB, model any, villageID int64, ids []int64, what string, columns ...string) ([]R, error) {
	var rows []R
	if ids = distinct(ids); len(ids) == 0 {
		return rows, nil
	}
	err := db.NewSelect().Model(model).Column(columns...).
		Where("village_id = ?", villageID).Where("id IN (?)", bun.In(ids)).Scan(ctx, &rows)
	return rows, translate(err, what)
}

// GetRequests returns the village's help requests with these IDs, by ID,
// in one query.
func (s *Store) GetRequests(ctx context.Context, villageID int64, ids []int64) (map[int64]*HelpRequest, error) {
	out := map[int64]*HelpRequest{}
	ids = distinct(ids)
	if len(ids) == 0 {
		return out, nil
	}
	var rows []*HelpRequest
	err := s.db.NewSelect().Model(&rows).Where("village_id = ?", villageID).Where("id IN (?)", bun.In(ids)).Scan(ctx)
	if err != nil {
		return nil, translate(err, "help requests")
	}
	for _, r := range rows {
		out[r.ID] = r
	}
	return out, nil
}

// HelpsFor is how long after its date a team's job on a household's
// request lets the team's leader read the household, once the job's season
// is closed.
const HelpsFor = 90 // days

// TeamHelps reports whether a team has a job, other than a declined or
// cancelled one, on a request of the household, in a season still open or
// dated within the last HelpsFor days in the village: its leader may then
// read the household's balance and statement as it reads its members'.
// Older help gives no lasting view of a household's account.
func (s *Store) TeamHelps(ctx context.Context, villageID, teamID, householdID int64) (bool, error) {
	v, err := s.village(ctx, s.db, villageID)
	if err != nil {
		return false, err
	}
	since := s.Now().In(v.Location()).AddDate(0, 0, -HelpsFor).Format(time.DateOnly)
	requests := func() *bun.SelectQuery {
		return s.db.NewSelect().Model((*HelpRequest)(nil)).Column("id").
			Where("village_id = ?", villageID).Where("household_id = ?", householdID)
	}
	ok, err := s.db.NewSelect().Model((*Job)(nil)).
		Where("village_id = ?", villageID).Where("team_id = ?", teamID).
		Where("state IN (?)", bun.In([]string{JobScheduled, JobConfirmed, JobDone})).
		Where("request_id IN (?)", requests()).
		WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
			return q.Where("date >= ?", since).
				WhereOr("request_id IN (?)", requests().Where("season_id IN (?)",
					s.db.NewSelect().Model((*Season)(nil)).Column("id").
						Where("village_id = ?", villageID).Where("state = ?", SeasonOpen)))
		}).
		Exists(ctx)
	return ok, translate(err, "jobs")
}

// distinct is ids without zeros and repeats, sorted.
func distinct(ids []int64) []int64 {
	out := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	slices.Sort(out)
	return slices.Compact(out)
}
