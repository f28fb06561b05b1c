package store

import (
	"context"
	"slices"

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
	Group    int
	Phone    string
}

// FieldName is a field's name, area and the village group it lies in.
type FieldName struct {
	Name        string
	AreaCentimu int64
	Group       int
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
	if ids := distinct(refs.Households); len(ids) > 0 {
		var rows []struct {
			ID       int64
			HeadName string
			Group    int `bun:"group_no"`
			Phone    string
		}
		err := s.db.NewSelect().Model((*Household)(nil)).Column("id", "head_name", "group_no", "phone").
			Where("village_id = ?", villageID).Where("id IN (?)", bun.In(ids)).Scan(ctx, &rows)
		if err != nil {
			return nil, translate(err, "households")
		}
		for _, r := range rows {
			out.Households[r.ID] = &HouseholdName{HeadName: r.HeadName, Group: r.Group, Phone: r.Phone}
		}
	}
	if ids := distinct(refs.Fields); len(ids) > 0 {
		var rows []struct {
			ID          int64
			Name        string
			AreaCentimu int64
			Group       int `bun:"group_no"`
		}
		err := s.db.NewSelect().Model((*Field)(nil)).Column("id", "name", "area_centimu", "group_no").
			Where("village_id = ?", villageID).Where("id IN (?)", bun.In(ids)).Scan(ctx, &rows)
		if err != nil {
			return nil, translate(err, "fields")
		}
		for _, r := range rows {
			out.Fields[r.ID] = &FieldName{Name: r.Name, AreaCentimu: r.AreaCentimu, Group: r.Group}
		}
	}
	if ids := distinct(refs.Teams); len(ids) > 0 {
		var rows []struct {
			ID   int64
			Name string
		}
		err := s.db.NewSelect().Model((*Team)(nil)).Column("id", "name").
			Where("village_id = ?", villageID).Where("id IN (?)", bun.In(ids)).Scan(ctx, &rows)
		if err != nil {
			return nil, translate(err, "teams")
		}
		for _, r := range rows {
			out.Teams[r.ID] = r.Name
		}
	}
	return out, nil
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

// TeamHelps reports whether a team has a job, other than a declined or
// cancelled one, on a request of the household: its leader may then read
// the household's balance and statement as it reads its members'.
func (s *Store) TeamHelps(ctx context.Context, villageID, teamID, householdID int64) (bool, error) {
	ok, err := s.db.NewSelect().Model((*Job)(nil)).
		Where("village_id = ?", villageID).Where("team_id = ?", teamID).
		Where("state IN (?)", bun.In([]string{JobScheduled, JobConfirmed, JobDone})).
		Where("request_id IN (?)", s.db.NewSelect().Model((*HelpRequest)(nil)).Column("id").
			Where("village_id = ?", villageID).Where("household_id = ?", householdID)).
		Exists(ctx)
	return ok, translate(err, "jobs")
}

// distinct is ids without zeros and repeats, sorted.
func distinct(ids []int64) []int64 {
	out := slices.DeleteFunc(slices.Clone(ids), func(id int64) bool { return id == 0 })
	slices.Sort(out)
	return slices.Compact(out)
}
