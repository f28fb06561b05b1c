package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/store"
)

// Household is a household as the API shows it.
type Household struct {
	ID            int64     `json:"id" example:"1" doc:"Household ID 农户编号"`
	HeadName      string    `json:"headName" example:"章仁标" doc:"Head of household 户主"`
	Group         int       `json:"group" example:"3" doc:"Village group 村民小组"`
	Laborers      int       `json:"laborers" example:"1" doc:"Able-bodied laborers 劳力数"`
	Members       int       `json:"members" example:"2" doc:"People in the household 家庭人口"`
	Elderly       bool      `json:"elderly" example:"true" doc:"Elderly household 老年户"`
	LeftBehind    bool      `json:"leftBehind" example:"true" doc:"Left-behind family 留守户"`
	Disabled      bool      `json:"disabled" example:"false" doc:"A member is disabled 残疾"`
	FiveGuarantee bool      `json:"fiveGuarantee" example:"false" doc:"Five-guarantee household 五保户"`
	Exempt        bool      `json:"exempt" example:"false" doc:"Help it receives is covered by the village fund 公益帮扶（由村公益账户承担）"`
	Vulnerable    bool      `json:"vulnerable" example:"true" doc:"Any of the flags above but exempt: planned first 困难户，优先安排"`
	Policy        string    `json:"policy" enum:"assisted,exchange" example:"assisted" doc:"How the help it receives is paid: assisted (帮扶: recorded in full, the village fund pays, its balance never goes below zero) or exchange (换工: owed back in workdays). By default assisted when vulnerable. 受助方式：帮扶（村公益账户承担）或换工"`
	PolicySet     bool      `json:"policySet" example:"false" doc:"A cadre chose the policy; false: it follows the flags 村干部已设定受助方式"`
	PartyMember   string    `json:"partyMember" example:"邱锦" doc:"Linked party member 联户党员"`
	Phone         string    `json:"phone" example:"13879312345" doc:"Contact phone 联系电话"`
	Version       int64     `json:"version" example:"3" doc:"Version; sent as the ETag 版本号"`
	CreatedAt     time.Time `json:"createdAt" example:"2026-03-02T01:30:00Z" doc:"Recorded 登记时间"`
	UpdatedAt     time.Time `json:"updatedAt" example:"2026-03-20T06:12:45Z" doc:"Last changed 修改时间"`
}

func householdOf(h *store.Household) Household {
	return Household{
		ID: h.ID, HeadName: h.HeadName, Group: h.Group, Laborers: h.Laborers, Members: h.Members,
		Elderly: h.Elderly, LeftBehind: h.LeftBehind, Disabled: h.Disabled, FiveGuarantee: h.FiveGuarantee,
		Exempt: h.Exempt, Vulnerable: h.Vulnerable(), Policy: h.EffectivePolicy(), PolicySet: h.Policy != nil, PartyMember: h.PartyMember, Phone: h.Phone,
		Version: h.Version, CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt,
	}
}

// HouseholdInput is what a cadre records when surveying a household.
type HouseholdInput struct {
	HeadName      string `json:"headName" minLength:"1" maxLength:"40" example:"章仁标" doc:"Head of household 户主"`
	Group         int    `json:"group" minimum:"1" maximum:"99" example:"3" doc:"Village group 村民小组"`
	Laborers      int    `json:"laborers" minimum:"0" maximum:"20" example:"1" doc:"Able-bodied laborers 劳力数"`
	Members       int    `json:"members" minimum:"0" maximum:"30" example:"2" doc:"People in the household 家庭人口 (≥ laborers)"`
	Elderly       bool   `json:"elderly,omitempty" example:"true" doc:"Elderly household 老年户"`
	LeftBehind    bool   `json:"leftBehind,omitempty" example:"true" doc:"Left-behind family 留守户"`
	Disabled      bool   `json:"disabled,omitempty" example:"false" doc:"A member is disabled 残疾"`
	FiveGuarantee bool   `json:"fiveGuarantee,omitempty" example:"false" doc:"Five-guarantee household 五保户"`
	Exempt        bool   `json:"exempt,omitempty" example:"false" doc:"Cover its received help from the village fund 公益帮扶"`
	Policy        string `json:"policy,omitempty" enum:"assisted,exchange" example:"exchange" doc:"assisted (帮扶) or exchange (换工); absent: assisted when vulnerable 受助方式"`
	PartyMember   string `json:"partyMember,omitempty" maxLength:"40" example:"邱锦" doc:"Linked party member 联户党员"`
	Phone         string `json:"phone,omitempty" pattern:"^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$" patternDescription:"a mobile number like 13879312345 or a landline like 0793-2212345 手机或座机号码" example:"13879312345" doc:"Contact phone 联系电话"`
}

// HouseholdPatch changes some of a household's attributes; absent ones stay.
type HouseholdPatch struct {
	HeadName      *string `json:"headName,omitempty" minLength:"1" maxLength:"40" example:"章仁标" doc:"Head of household 户主"`
	Group         *int    `json:"group,omitempty" minimum:"1" maximum:"99" example:"3" doc:"Village group 村民小组"`
	Laborers      *int    `json:"laborers,omitempty" minimum:"0" maximum:"20" example:"0" doc:"Able-bodied laborers 劳力数"`
	Members       *int    `json:"members,omitempty" minimum:"0" maximum:"30" example:"2" doc:"People in the household 家庭人口"`
	Elderly       *bool   `json:"elderly,omitempty" example:"true" doc:"Elderly household 老年户"`
	LeftBehind    *bool   `json:"leftBehind,omitempty" example:"true" doc:"Left-behind family 留守户"`
	Disabled      *bool   `json:"disabled,omitempty" example:"false" doc:"A member is disabled 残疾"`
	FiveGuarantee *bool   `json:"fiveGuarantee,omitempty" example:"false" doc:"Five-guarantee household 五保户"`
	Exempt        *bool   `json:"exempt,omitempty" example:"false" doc:"Cover its received help from the village fund 公益帮扶"`
	Policy        *string `json:"policy,omitempty" enum:"assisted,exchange,default" example:"exchange" doc:"assisted (帮扶: the village fund pays for the help it receives), exchange (换工: it owes the help back, for a household with labor to return), or default (follow the flags: assisted when vulnerable). Applies to postings from now on. 受助方式"`
	PartyMember   *string `json:"partyMember,omitempty" maxLength:"40" example:"邱锦" doc:"Linked party member 联户党员"`
	Phone         *string `json:"phone,omitempty" pattern:"^$|^(1[3-9][0-9]{9}|0[0-9]{2,3}-?[0-9]{7,8})$" patternDescription:"a mobile number like 13879312345, a landline like 0793-2212345, or empty to remove 手机或座机号码" example:"0793-2212345" doc:"Contact phone 联系电话"`
}

func (p *HouseholdPatch) apply(h *store.Household) {
	set(&h.HeadName, p.HeadName)
	set(&h.Group, p.Group)
	set(&h.Laborers, p.Laborers)
	set(&h.Members, p.Members)
	set(&h.Elderly, p.Elderly)
	set(&h.LeftBehind, p.LeftBehind)
	set(&h.Disabled, p.Disabled)
	set(&h.FiveGuarantee, p.FiveGuarantee)
	set(&h.Exempt, p.Exempt)
	if p.Policy != nil {
		h.Policy = p.Policy
		if *p.Policy == "default" {
			h.Policy = nil
		}
	}
	set(&h.PartyMember, p.PartyMember)
	set(&h.Phone, p.Phone)
}

// set copies a patch value over a record's when the patch has one.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// HouseholdOutput is one household with its ETag.
type HouseholdOutput struct {
	ETag string `header:"ETag" example:"\"3\"" doc:"Send back as If-Match to update 更新时回传"`
	Body Household
}

func householdOutput(h *store.Household) *HouseholdOutput {
	return &HouseholdOutput{ETag: etag(h.Version), Body: householdOf(h)}
}

// IDPath is a record's ID in the path.
type IDPath struct {
	ID int64 `path:"id" minimum:"1" example:"1" doc:"Record ID 记录编号"`
}

// IfMatchHeader is the optimistic-concurrency guard of an update.
type IfMatchHeader struct {
	IfMatch string `header:"If-Match" example:"\"3\"" doc:"The ETag last read; a stale one gets 412 and nothing is written. 上次读取的ETag"`
}

func (s *Server) addHouseholdRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "list-households", Method: http.MethodGet, Path: "/v1/households",
		Summary: "农户列表 List households", Tags: []string{"households"}, Security: secured(store.RoleCadre),
		Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		PageInput
		Group      int    `query:"group" minimum:"0" maximum:"99" example:"3" doc:"Only this village group 只看某村民小组"`
		Vulnerable string `query:"vulnerable" enum:"true,false" example:"true" doc:"Only vulnerable (true) or other (false) households 只看困难户"`
	}) (*ListOutput[Household], error) {
		page, err := in.page()
		if err != nil {
			return nil, err
		}
		f := store.HouseholdFilter{Group: in.Group}
		if in.Vulnerable != "" {
			v := in.Vulnerable == "true"
			f.Vulnerable = &v
		}
		rows, next, err := s.store.ListHouseholds(ctx, caller(ctx).VillageID, f, page)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return listOf(rows, next, householdOf), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-household", Method: http.MethodPost, Path: "/v1/households",
		Summary: "登记农户 Record a household", Tags: []string{"households"}, Security: secured(store.RoleCadre),
		DefaultStatus: http.StatusCreated, Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body HouseholdInput }) (*HouseholdOutput, error) {
		b := in.Body
		h := &store.Household{
			VillageID: caller(ctx).VillageID, HeadName: b.HeadName, Group: b.Group, Laborers: b.Laborers,
			Members: b.Members, Elderly: b.Elderly, LeftBehind: b.LeftBehind, Disabled: b.Disabled,
			FiveGuarantee: b.FiveGuarantee, Exempt: b.Exempt, PartyMember: b.PartyMember, Phone: b.Phone,
		}
		if b.Policy != "" {
			h.Policy = &b.Policy
		}
		if err := s.store.CreateHousehold(ctx, h); err != nil {
			return nil, s.problem(ctx, err)
		}
		return householdOutput(h), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "get-household", Method: http.MethodGet, Path: "/v1/households/{id}",
		Summary: "查看农户 Get a household", Tags: []string{"households"},
		Description: "农户只能查看本户。 A household token reads only its own household.",
		Security:    secured(store.RoleCadre, store.RoleHousehold), Errors: []int{401, 403, 404, 422},
	}, func(ctx context.Context, in *IDPath) (*HouseholdOutput, error) {
		p := caller(ctx)
		if p.Role == store.RoleHousehold && p.HouseholdID != in.ID {
			return nil, deny(ctx, "household", in.ID)
		}
		h, err := s.store.GetHousehold(ctx, p.VillageID, in.ID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return householdOutput(h), nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "update-household", Method: http.MethodPatch, Path: "/v1/households/{id}",
		Summary: "修改农户 Update a household", Tags: []string{"households"}, Security: secured(store.RoleCadre),
		Description: "Send the ETag last read as If-Match; if the household changed since, 412 and nothing is written.",
		Errors:      []int{400, 401, 403, 404, 412, 413, 415, 422},
	}, func(ctx context.Context, in *struct {
		IDPath
		IfMatchHeader
		Body HouseholdPatch
	}) (*HouseholdOutput, error) {
		version, err := ifMatch(in.IfMatch)
		if err != nil {
			return nil, err
		}
		h, err := s.store.UpdateHousehold(ctx, caller(ctx).VillageID, in.ID, version, func(h *store.Household) error {
			in.Body.apply(h)
			return nil
		})
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		return householdOutput(h), nil
	})
}
