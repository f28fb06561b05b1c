package api

import (
	"context"
	"math"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// Field is a field as the API shows it; area is in mu.
type Field struct {
	ID          int64     `json:"id" example:"7" doc:"Field ID 田块编号"`
	HouseholdID int64     `json:"householdId" example:"1" doc:"Owner household 所属农户"`
	Name        string    `json:"name" example:"门口田" doc:"Field name 田块名称"`
	Area        float64   `json:"area" example:"1.6" doc:"Area in mu, two decimals 面积（亩）"`
	Crop        string    `json:"crop" enum:"early_rice,late_rice,single_rice,rapeseed,other" example:"early_rice" doc:"Crop 作物：早稻、晚稻、中稻、油菜、其他"`
	Group       int       `json:"group" example:"3" doc:"Village group the field lies in 所在村民小组"`
	Version     int64     `json:"version" example:"1" doc:"Version; sent as the ETag 版本号"`
	CreatedAt   time.Time `json:"createdAt" example:"2026-03-02T01:42:00Z" doc:"Recorded 登记时间"`
	UpdatedAt   time.Time `json:"updatedAt" example:"2026-03-02T01:42:00Z" doc:"Last changed 修改时间"`
}

func fieldOf(f *store.Field) Field {
	return Field{
		ID: f.ID, HouseholdID: f.HouseholdID, Name: f.Name, Area: float64(f.AreaCentimu) / 100,
		Crop: f.Crop, Group: f.Group, Version: f.Version, CreatedAt: f.CreatedAt, UpdatedAt: f.UpdatedAt,
	}
}

// FieldInput is a field as a cadre records it in the survey.
type FieldInput struct {
	HouseholdID int64   `json:"householdId" minimum:"1" example:"1" doc:"Owner household 所属农户"`
	Name        string  `json:"name" minLength:"1" maxLength:"40" example:"门口田" doc:"Field name 田块名称"`
	Area        float64 `json:"area" exclusiveMinimum:"0" maximum:"100" example:"1.6" doc:"Area in mu, more than 0 and at most 100, two decimals 面积（亩），大于0且不超过100"`
	Crop        string  `json:"crop" enum:"early_rice,late_rice,single_rice,rapeseed,other" example:"early_rice" doc:"Crop 作物"`
	Group       int     `json:"group,omitempty" minimum:"1" maximum:"99" example:"3" doc:"Village group; defaults to the household's 所在村民小组，默认同农户"`
}

// FieldPatch changes some of a field's attributes.
type FieldPatch struct {
	Name  *string  `json:"name,omitempty" minLength:"1" maxLength:"40" example:"门口田" doc:"Field name 田块名称"`
	Area  *float64 `json:"area,omitempty" exclusiveMinimum:"0" maximum:"100" example:"3" doc:"Area in mu 面积（亩）"`
	Crop  *string  `json:"crop,omitempty" enum:"early_rice,late_rice,single_rice,rapeseed,other" example:"late_rice" doc:"Crop 作物"`
	Group *int     `json:"group,omitempty" minimum:"1" maximum:"99" example:"3" doc:"Village group 所在村民小组"`
}

// centimu converts an area in mu to hundredths, refusing finer precision
// rather than silently rounding a cadre's figure.
func centimu(area float64) (int64, error) {
	c := math.Round(area * 100)
	if math.Abs(area*100-c) > 1e-6 {
		return 0, store.Invalid("body.area", "面积最多两位小数 area %v has more than two decimals", area)
	}
	return int64(c), nil
}

// FieldOutput is one field with its ETag.
type FieldOutput struct {
	ETag string `header:"ETag" example:"\"1\"" doc:"Send back as If-Match to update 更新时回传"`
	Body Field
}

func fieldOutput(f *store.Field) *FieldOutput {
	return &FieldOutput{ETag: etag(f.Version), Body: fieldOf(f)}
}

func (s *Server) addFieldRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-fields", Method: http.MethodGet, Path: "/v1/fields",
		Summary: "田块列表 List fields", Tags: []string{"fields"},
		Description: "农户只能看本户田块。 A household token lists only its own fields.",
		Security:    secured(store.RoleCadre, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *struct {
		PageInput
		Household int64  `query:"household" minimum:"0" example:"1" doc:"Only this household's fields 只看某户"`
		Crop      string `query:"crop" enum:"early_rice,late_rice,single_rice,rapeseed,other" example:"early_rice" doc:"Only this crop 只看某作物"`
	}) (*ListOutput[Field], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		p := caller(ctx)
		f := store.FieldFilter{HouseholdID: in.Household, Crop: in.Crop}
		if p.Role == store.RoleHousehold {
			if f.HouseholdID != 0 && f.HouseholdID != p.HouseholdID {
				return nil, deny(ctx, "household", f.HouseholdID)
			}
			f.HouseholdID = p.HouseholdID
		}
		rows, next, err := s.store.ListFields(ctx, p.VillageID, f, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, next, fieldOf), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-field", Method: http.MethodPost, Path: "/v1/fields",
		Summary: "登记田块 Record a field", Tags: []string{"fields"}, Security: secured(store.RoleCadre),
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body FieldInput }) (*FieldOutput, error) {
		area, err := centimu(in.Body.Area)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		f := &store.Field{
			VillageID: caller(ctx).VillageID, HouseholdID: in.Body.HouseholdID, Name: in.Body.Name,
			AreaCentimu: area, Crop: in.Body.Crop, Group: in.Body.Group,
		}
		if err := s.store.CreateField(ctx, f); err != nil {
			return nil, s.problem(ctx, err)
		}
		return fieldOutput(f), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-field", Method: http.MethodGet, Path: "/v1/fields/{id}",
		Summary: "查看田块 Get a field", Tags: []string{"fields"},
		Description: "农户只能查看本户田块。 A household token reads only its own fields.",
		Security:    secured(store.RoleCadre, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*FieldOutput, error) {
		p := caller(ctx)
		f, err := s.store.GetField(ctx, p.VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		if p.Role == store.RoleHousehold && f.HouseholdID != p.HouseholdID {
			return nil, deny(ctx, "field", in.ID)
		}
		return fieldOutput(f), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-field", Method: http.MethodPatch, Path: "/v1/fields/{id}",
		Summary: "修改田块 Update a field", Tags: []string{"fields"}, Security: secured(store.RoleCadre),
		Description: "Send the ETag last read as If-Match; if the field changed since, 412 and nothing is written.",
		Errors:      []int{400, 401, 403, 404, 412, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		IfMatchHeader
		Body FieldPatch
	}) (*FieldOutput, error) {
		version, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		var area *int64
		if in.Body.Area != nil {
			c, err := centimu(*in.Body.Area)
			if err != nil {
				return nil, s.problem(ctx, err)
			}
			area = &c
		}
		f, err := s.store.UpdateField(ctx, caller(ctx).VillageID, in.ID, version, func(f *store.Field) error {
			set(&f.Name, in.Body.Name)
			set(&f.AreaCentimu, area)
			set(&f.Crop, in.Body.Crop)
			set(&f.Group, in.Body.Group)
			return nil
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return fieldOutput(f), nil
	})
}
