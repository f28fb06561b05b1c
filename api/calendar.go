package api

import (
	"context"
	"errors"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"huangong/scheduler"
	"huangong/store"
)

// SolarTerm is one of the 24 solar terms of a year in the village.
type SolarTerm struct {
	Name      string    `json:"name" example:"清明" doc:"Name 节气"`
	Pinyin    string    `json:"pinyin" example:"Qīngmíng" doc:"Name in pinyin 拼音"`
	English   string    `json:"english" example:"Pure Brightness" doc:"Name in English 英文名"`
	Longitude int       `json:"longitude" minimum:"0" maximum:"345" example:"15" doc:"The sun's ecliptic longitude at the term, degrees 太阳黄经（度）"`
	Time      time.Time `json:"time" example:"2027-04-05T08:17:31+08:00" doc:"The instant, to the second, in the village's timezone; almanacs round it to the minute 交节时刻"`
	Date      string    `json:"date" format:"date" example:"2027-04-05" doc:"The date in the village 交节日期"`
}

// SolarTermsBody is a year's solar terms.
type SolarTermsBody struct {
	Year     int         `json:"year" example:"2027" doc:"Year 年份"`
	Timezone string      `json:"timezone" example:"Asia/Shanghai" doc:"The village's timezone the times and dates are in 时区"`
	Terms    []SolarTerm `json:"terms" minItems:"24" maxItems:"24" doc:"The 24 terms in time order, 小寒 first and 冬至 last 二十四节气，按时间排列"`
}

// DefaultSeasonsInput asks for a year's default seasons.
type DefaultSeasonsInput struct {
	Year   int    `json:"year" minimum:"1900" maximum:"2100" example:"2027" doc:"Year 年份"`
	System string `json:"system,omitempty" enum:"double_rice,single_rice,rapeseed" default:"double_rice" example:"double_rice" doc:"Crop system: double_rice 双季稻 (spring 春耕, summer 双抢, autumn 秋收), single_rice 一季稻 and rapeseed 油菜–中稻 (spring and autumn) 种植制度"`
}

// DefaultSeasonsBody answers which seasons were created and which the
// village had already.
type DefaultSeasonsBody struct {
	Year     int      `json:"year" example:"2027" doc:"Year 年份"`
	System   string   `json:"system" example:"double_rice" doc:"Crop system 种植制度"`
	Created  []Season `json:"created" doc:"Seasons created now, planned 新建的农时（计划中）"`
	Existing []Season `json:"existing" doc:"Kinds the village already had that year, left as they are 已有的农时（不变）"`
}

func seasonsOf(ss []*store.Season) []Season {
	out := make([]Season, len(ss))
	for i, se := range ss {
		out[i] = seasonOf(se)
	}
	return out
}

// atField places the calendar's own invalid-input errors (field "year" or
// "system") in the request: query.year, body.system. Huma's validation
// answers first for what the schema covers; this is for anything it
// lets through.
func atField(err error, in string) error {
	var de *store.Error
	if errors.As(err, &de) && de.Code == store.EINVALID && (de.Field == "year" || de.Field == "system") {
		return store.Invalid(in+de.Field, "%s", de.Message)
	}
	return err
}

func (s *Server) addCalendarRoutes() {
	huma.Register(s.api, huma.Operation{
		OperationID: "get-solar-terms", Method: http.MethodGet, Path: "/v1/solar-terms",
		Summary: "二十四节气 The year's solar terms", Tags: []string{"calendar"},
		Description: "某年的二十四节气交节时刻，按本村时区，天文计算。 The 24 solar terms (节气) of a year, 1900 to 2100, computed astronomically, " +
			"with their instants and dates in the village's timezone. The default seasons are drawn from them " +
			"(春耕 清明–立夏, 双抢 小暑–立秋, 秋收 寒露–立冬). Every role may read them.",
		Security: secured(store.RoleCadre, store.RoleLeader, store.RoleHousehold), Errors: []int{401, 403, 422},
	}, func(ctx context.Context, in *struct {
		Year int `query:"year" minimum:"1900" maximum:"2100" example:"2027" doc:"Year, 1900 to 2100; absent for this year in the village 年份，默认今年"`
	}) (*struct{ Body SolarTermsBody }, error) {
		v, err := s.store.GetVillage(ctx, caller(ctx).VillageID)
		if err != nil {
			return nil, s.problem(ctx, err)
		}
		loc := v.Location()
		year := in.Year
		if year == 0 {
			year = s.store.Now().In(loc).Year()
		}
		ts, err := scheduler.SolarTerms(year, loc)
		if err != nil {
			return nil, s.problem(ctx, atField(err, "query."))
		}
		out := &struct{ Body SolarTermsBody }{Body: SolarTermsBody{Year: year, Timezone: v.Timezone, Terms: make([]SolarTerm, len(ts))}}
		for i, t := range ts {
			out.Body.Terms[i] = SolarTerm{Name: t.Name, Pinyin: t.Pinyin, English: t.English, Longitude: t.Longitude, Time: t.Time, Date: t.Date}
		}
		return out, nil
	})

	huma.Register(s.api, huma.Operation{
		OperationID: "create-default-seasons", Method: http.MethodPost, Path: "/v1/seasons/defaults",
		Summary: "按节气生成农时 Create a year's default seasons", Tags: []string{"seasons"}, Security: secured(store.RoleCadre),
		Description: "按当年节气和种植制度生成默认农时（计划中），已有的同类农时不变；可重复调用。 Creates the year's default busy seasons " +
			"from its solar terms and the crop system, planned, with the default cron specs. Double-cropping rice: 春耕 (prepare, " +
			"transplant) from 清明 to 5 days after 立夏; 双抢 (harvest, prepare, transplant) from 小暑 to 3 days after 立秋; 秋收 " +
			"(harvest) from 寒露 to 立冬. A kind the village already has that year is left as it is and listed as existing, so " +
			"calling again is harmless. Move the dates afterwards with update-season.",
		Errors: []int{400, 401, 403, 413, 415, 422},
	}, func(ctx context.Context, in *struct{ Body DefaultSeasonsInput }) (*struct{ Body DefaultSeasonsBody }, error) {
		system := in.Body.System
		if system == "" {
			system = scheduler.SystemDoubleRice
		}
		created, existing, err := scheduler.CreateDefaultSeasons(ctx, s.store, caller(ctx).VillageID, in.Body.Year, system)
		if err != nil {
			return nil, s.problem(ctx, atField(err, "body."))
		}
		return &struct{ Body DefaultSeasonsBody }{Body: DefaultSeasonsBody{Year: in.Body.Year, System: system,
			Created: seasonsOf(created), Existing: seasonsOf(existing)}}, nil
	})
}
